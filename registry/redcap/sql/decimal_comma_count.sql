-- One number/calc column of the export (table raw): how many cells hold a decimal comma
-- (11,2), and how many hold anything else than a whole number or a decimal-comma number
-- (missing-data codes aside). The column is read with commas only when the second is 0.
select
    count_if(regexp_full_match(v, '[+-]?[0-9]*,[0-9]+')) as commas,
    count_if(not regexp_full_match(v, '[+-]?[0-9]+(,[0-9]*)?|[+-]?,[0-9]+') and not list_contains($codes, v)) as others
from (select trim(${col}) as v from raw where ${col} is not null)
