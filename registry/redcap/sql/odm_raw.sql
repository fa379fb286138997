-- The export rows of odm_el as the temp table raw: one row per record x event x repeating
-- instrument x instance (odm_form_rows), each item's last non-empty value in its row
-- (${cells}: one filtered aggregate per column), the columns ${columns} in the export's order.
create or replace temp table raw as
with items as (
    select r.row_no, i.oid, i.k, ${value} as value
    from odm_el i join odm_form_rows r on r.k = i.fk ${decoded}
    where i.kind = 6
), cells as (
    select row_no${cells}
    from items
    group by row_no
), keys as (
    select row_no, any_value(sk) as sk, any_value(event) as event, any_value(instrument) as instrument,
        any_value(instance) as instance
    from odm_form_rows
    group by row_no
), export_rows as (
    select *
    from keys join odm_subjects using (sk) left join cells using (row_no)
)
select row_no as __row, ${columns}
from export_rows
order by row_no
