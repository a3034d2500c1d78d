select id * 10 as x from v1
