-- The free-text cells to scan, one row per cell: the input of phi_scan.sql.
-- ${table} and ${columns} are identifiers quoted by registry/phi.py.
create or replace temp view __phi_cells as
unpivot (
    select __row, record_id, redcap_event_name, redcap_repeat_instance, ${columns}
    from ${table}
)
on ${columns}
into name field value cell
