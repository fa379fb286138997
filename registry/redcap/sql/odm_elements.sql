-- The ClinicalData of an ODM export, one line an element (as REDCap writes it), into odm_el.
-- Each line is split at its double quotes (attribute values cannot hold one) and typed by its
-- tag: 1 <ClinicalData>, 2 <SubjectData>, 3 <StudyEventData>, 4 <FormData>, 5 <ItemGroupData>,
-- 6 <ItemData ItemOID=".." Value=".."/>, 7-12 the closing tags of ItemGroupData, FormData,
-- StudyEventData, SubjectData, ClinicalData and ODM; 0 a blank line; null anything else.
-- Lines are numbered (k) in file order and a streaming window (file order, no sort) carries the
-- context down: the previous element's kind, the StudyEventData depth, and the line of the
-- current SubjectData (sk), StudyEventData (ek) and FormData (fk).
-- ok: the element may follow the previous one in REDCap's layout (prev * 16 + kind):
--   start->C; C->S,/C; S->E,F,/S; E->F,/E; F->G,/F; G->I,/G; I->I,/G; /G->G,/F; /F->F,/E,/S;
--   /E->E,/S; /S->S,/C; /C->/ODM; forms directly in a SubjectData only outside any event.
-- Kept: the structure, the non-empty items, anything not ok, and the lines whose text the
-- caller checks (text: tags whose attributes it reads or whose shape SQL does not check).
create or replace temp table odm_el as
with split as (
    select row_number() over () as k, line, string_split(line, '"') as p
    from read_csv($path, columns = {'line': 'VARCHAR'}, delim = '\x01', quote = '', escape = '',
                  header = false, auto_detect = false, skip = $skip, max_line_size = 100000000)
), typed as (
    select k, line, p, len(p) as q, ltrim(p[1], ' 	') as head
    from split
), kinds as (
    select k, line, p,
        case
            when line is null then 0
            when q = 5 and head = '<ItemData ItemOID=' and p[3] = ' Value=' and p[5] = '/>' then 6
            when q = 1 then case trim(line, ' 	')
                when '' then 0 when '</ItemGroupData>' then 7 when '</FormData>' then 8
                when '</StudyEventData>' then 9 when '</SubjectData>' then 10 when '</ClinicalData>' then 11
                when '</ODM>' then 12 when '<SubjectData>' then 2 when '<StudyEventData>' then 3
                when '<FormData>' then 4 when '<ItemGroupData>' then 5 end
            when q % 2 = 0 then null
            when starts_with(head, '<ItemGroupData') then 5
            when starts_with(head, '<FormData') then 4
            when starts_with(head, '<StudyEventData') then 3
            when starts_with(head, '<SubjectData') then 2
            when starts_with(head, '<ClinicalData') then 1
        end as kind,
        -- an ItemGroupData in REDCap's own shape, with plain values: nothing left to check
        q = 5 and head = '<ItemGroupData ItemGroupOID=' and p[3] = ' ItemGroupRepeatKey=' and p[5] = '>'
            and not (contains(p[2], '<') or contains(p[2], '&') or contains(p[4], '<') or contains(p[4], '&')) as plain_group
    from typed
), context as (
    select k, kind,
        case when kind = 6 then p[2] end as oid,
        case when kind = 6 then p[4] end as value,
        case when kind is null or kind in (1, 2, 3, 4) or (kind = 5 and not plain_group) then coalesce(line, '') end as text,
        lag(kind, 1, 0) over () as prev,
        sum(case kind when 3 then 1 when 9 then -1 else 0 end) over (rows between unbounded preceding and current row) as depth,
        max(case when kind = 2 then k end) over (rows between unbounded preceding and current row) as sk,
        max(case when kind = 3 then k end) over (rows between unbounded preceding and current row) as ek,
        max(case when kind = 4 then k end) over (rows between unbounded preceding and current row) as fk
    from kinds
    where kind is distinct from 0
), checked as (
    select k, kind, oid, value, text, sk, case when depth = 1 then ek end as ek, fk,
        coalesce(prev * 16 + kind in (1, 18, 27, 35, 36, 42, 52, 57, 69, 72, 86, 87, 102, 103, 117, 120,
                                      132, 137, 138, 147, 154, 162, 171, 188)
                 and depth between 0 and 1 and (kind not in (2, 10) or depth = 0)
                 and not (kind = 6 and contains(value, '<')), false) as ok
    from context
)
select k, kind, oid, value, text, sk, ek, fk, ok
from checked
where kind in (1, 2, 3, 4, 12) or (kind = 6 and value <> '') or not ok or text is not null
