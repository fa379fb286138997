-- The export rows of odm_el as the temp table raw: one row per record x event x repeating
-- instrument x instance (odm_form_rows), in the order first seen, its cells from odm_cells
-- (the JSON object j read into the struct c: $struct names the items), the columns ${columns}
-- in the export's order. The rows are put in order before the struct is read (a narrow sort).
-- first_dag: a record's first DAG item, for a record whose SubjectData names no DAG.
-- __written_twice: the row has fewer items read (${items}: 1 per item in c) than written (n),
-- an item written twice in it; the caller then builds odm_cells from each item's last value.
create or replace temp table raw as
with keys as (
    select row_no, any_value(sk) as sk, any_value(event) as event, any_value(instrument) as instrument,
        any_value(instance) as instance
    from odm_form_rows
    group by row_no
), first_dag as (
    select keys.sk, arg_min(json_extract_string(j, '$.redcap_data_access_group'), keys.row_no) as first_dag
    from keys join odm_cells using (row_no)
    where ${dag_items} and json_extract_string(j, '$.redcap_data_access_group') is not null
    group by keys.sk
), ordered as (
    select keys.row_no, keys.event, keys.instrument, keys.instance, s.record, s.dag, first_dag.first_dag, cells.n, cells.j
    from keys
    join odm_subjects s using (sk)
    left join first_dag using (sk)
    left join odm_cells cells using (row_no)
    order by keys.row_no
), export_rows as (
    select *, json_transform(j, $struct) as c
    from ordered
)
select row_no as __row, ${columns}, n <> ${items} as __written_twice
from export_rows
