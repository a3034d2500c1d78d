select * from fast_root
