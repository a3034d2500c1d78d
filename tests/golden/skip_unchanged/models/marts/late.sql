select * from upstream_newer
