select * from slow_root
