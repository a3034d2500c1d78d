select range as id, range % 3 as grp from range(10)
