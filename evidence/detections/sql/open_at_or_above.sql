-- Open findings whose severity is $severities (the one asked for and every worse one).
SELECT count(*) FROM findings
WHERE status = 'open' AND severity IN (SELECT unnest($severities))
