SELECT file, any_value(n), any_value(total), bool_and(ok) FROM groups GROUP BY file
