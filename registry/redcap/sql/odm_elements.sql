-- The lines of odm_lines numbered (k) in file order (the order they were read and stored in),
-- each item given the line of the FormData last opened before it (fk), and each element
-- checked to follow the previous one (lag) as in REDCap's layout, by a streaming window (file
-- order, no sort): bit `kind` of the mask of the previous kind says so: start->C; C->S,/C;
-- S->E,F,/S; E->F,/E; F->G,/F; G->I,/G; I->I,/G; /G->G,/F; /F->F,/E,/S; /E->E,/S; /S->S,/C;
-- /C->/ODM. (That forms directly in a SubjectData are outside any event is odm_forms.sql's check.)
-- A blank line (text '') is left out. Kept: records, events, forms and their ends, the
-- non-empty items, anything not ok, and the lines whose text the caller checks.
create or replace temp table odm_el as
with kinds as (
    select row_number() over () as k, kind, oid, value, text
    from odm_lines
), elements as (
    select * from kinds where text is distinct from ''
), checked as (
    select k, kind, oid, value, text,
        max(case when kind = 4 then k end) over (rows between unbounded preceding and current row) as fk,
        coalesce(([2, 2052, 1048, 528, 288, 192, 192, 288, 1552, 1032, 2052, 4096, 0][lag(kind, 1, 0) over () + 1]
                  >> kind) & 1 = 1 and not (kind = 6 and contains(value, '<')), false) as ok
    from elements
)
select k, kind, oid, value, text, case when kind = 6 then fk end as fk, ok
from checked
where kind in (1, 2, 3, 4, 9, 10, 12) or (kind = 6 and value <> '') or text is not null or not ok
