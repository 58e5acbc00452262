-- Whether a user id is listed twice (then the last listing of it wins: accts_dedup.sql).
SELECT count(*) > count(DISTINCT id) FROM users WHERE present
