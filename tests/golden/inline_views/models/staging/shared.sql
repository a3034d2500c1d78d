select range as y from range(3)
