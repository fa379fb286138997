-- Each distinct record ID and data access group, at its first row: the input of phi_scan.sql.
-- The key itself is not repeated in the record_id column (a refusal prints it); ${table} and
-- ${dag} (the DAG column, or null) are quoted by registry/phi.py.
create or replace temp view __phi_cells as
select min(__row) as __row, '(this record)' as record_id, null as redcap_event_name,
       null as redcap_repeat_instance, 'record ID' as field, record_id as cell
from ${table}
group by record_id
union all
select min(__row), '(this group)', null, null, 'data access group', ${dag}
from ${table}
where ${dag} is not null
group by ${dag}
