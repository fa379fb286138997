-- The cells of each export row (odm_form_rows, by the line of each item's FormData):
-- the row's items as one JSON object (j, read back by json_transform into a struct when raw
-- is built). n is the number of items, which odm_raw.sql compares with the items read: more
-- when an item is written twice in a row, for which the caller builds the table again from
-- ${source} = last_values (each item's last value in file order) instead of items.
create or replace temp table odm_cells as
with items as (
    select r.row_no, i.oid, i.k, ${value} as value
    from odm_el i join odm_form_rows r on r.k = i.fk ${decoded}
    where i.kind = 6
), last_values as (
    select row_no, oid, arg_max(value, k) as value
    from items
    group by row_no, oid
)
select row_no, count(*) as n, '{' || string_agg('"' || oid || '":' || to_json(value), ',') || '}' as j
from ${source}
group by row_no
