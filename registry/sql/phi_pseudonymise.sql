-- Replace flagged record IDs (or DAGs) in every row by a keyed hash: $prefix || 12 hex digits.
-- ${table} and ${column} are quoted by registry/phi.py; $rows are the first rows of the flagged
-- values (from scan_keys), $key the registry's random pseudonym key.
update ${table}
set ${column} = $prefix || left(sha256($key || ${column}), 12)
where ${column} in (select ${column} from ${table} where __row in (select unnest($rows::bigint[])))
