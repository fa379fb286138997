-- The cells of each export row (odm_form_rows; an item is in the form last opened before it):
-- the row's items as one JSON object, read back by json_transform into a struct with a field
-- per item ($struct: an object of item names -> VARCHAR). n is the number of items: more
-- than the struct's non-null fields when an item is written twice in a row, for which the
-- caller builds the table again from ${source} = last_values (the last value in file order).
create or replace temp table odm_cells as
with items as (
    select r.row_no, i.oid, i.k, ${value} as value
    from (select k, oid, value from odm_el where kind = 6) i
    asof join odm_form_rows r on i.k >= r.k ${decoded}
), last_values as (
    select row_no, oid, arg_max(value, k) as value
    from items
    group by row_no, oid
)
select row_no, count(*) as n,
    json_transform('{' || string_agg('"' || oid || '":' || to_json(value), ',') || '}', $struct) as c
from ${source}
group by row_no
