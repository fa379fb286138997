-- The ClinicalData of an ODM export, one element a line (as REDCap writes it), into odm_el.
-- Each line is split at its double quotes (an attribute value cannot hold one) and typed by its
-- tag: 1 <ClinicalData>, 2 <SubjectData>, 3 <StudyEventData>, 4 <FormData>, 5 <ItemGroupData>,
-- 6 <ItemData ItemOID=".." Value=".."/>, 7-12 the closing tags of ItemGroupData, FormData,
-- StudyEventData, SubjectData, ClinicalData and ODM; null anything else. REDCap's own
-- indentation is compared first (cheap), any other is trimmed. Lines are numbered (k) in file
-- order (a streaming window: file order, no sort).
-- ok: the element may follow the previous one (lag, the same streaming window) in REDCap's
-- layout; bit `kind` of the mask of the previous kind says so: start->C; C->S,/C; S->E,F,/S;
-- E->F,/E; F->G,/F; G->I,/G; I->I,/G; /G->G,/F; /F->F,/E,/S; /E->E,/S; /S->S,/C; /C->/ODM.
-- (That forms directly in a SubjectData are outside any event is odm_forms.sql's check.)
-- Kept: records, events, forms and their ends, the non-empty items, anything not ok, and the
-- lines whose text the caller checks (tags whose attributes it reads or whose shape SQL does
-- not check).
create or replace temp table odm_el as
with lines as (
    select row_number() over () as k, line, string_split(line, '"') as p
    from read_csv($path, columns = {'line': 'VARCHAR'}, delim = '\x01', quote = '', escape = '',
                  header = false, auto_detect = false, skip = $skip, max_line_size = 100000000)
), typed as (
    select k, line, p,
        case len(p)
            when 5 then case
                when p[3] = ' Value=' and p[5] = '/>' and (p[1] = '					<ItemData ItemOID='
                        or ltrim(p[1], ' 	') = '<ItemData ItemOID=') then 6
                when p[3] = ' ItemGroupRepeatKey=' and p[5] = '>' and (p[1] = '				<ItemGroupData ItemGroupOID='
                        or ltrim(p[1], ' 	') = '<ItemGroupData ItemGroupOID=')
                    and not (contains(p[2], '<') or contains(p[2], '&') or contains(p[4], '<') or contains(p[4], '&'))
                    then 5
                end
            when 1 then [7, 8, 9, 10, 11, 12][list_position(['</ItemGroupData>', '</FormData>', '</StudyEventData>',
                '</SubjectData>', '</ClinicalData>', '</ODM>'], trim(line, ' 	'))]
        end as plain
    from lines
    where line is not null
), kinds as (
    select k,
        coalesce(plain, case when len(p) % 2 = 1 then case
            when starts_with(ltrim(p[1], ' 	'), '<ItemGroupData') then 5
            when starts_with(ltrim(p[1], ' 	'), '<FormData') then 4
            when starts_with(ltrim(p[1], ' 	'), '<StudyEventData') then 3
            when starts_with(ltrim(p[1], ' 	'), '<SubjectData') then 2
            when starts_with(ltrim(p[1], ' 	'), '<ClinicalData') then 1
        end end) as kind,
        case when plain = 6 then p[2] end as oid,
        case when plain = 6 then p[4] end as value,
        case when plain is null then line end as text
    from typed
), checked as (
    select k, kind, oid, value, text,
        coalesce(([2, 2052, 1048, 528, 288, 192, 192, 288, 1552, 1032, 2052, 4096, 0][lag(kind, 1, 0) over () + 1]
                  >> kind) & 1 = 1 and not (kind = 6 and contains(value, '<')), false) as ok
    from kinds
)
select k, kind, oid, value, text, ok
from checked
where kind in (1, 2, 3, 4, 9, 10, 12) or (kind = 6 and value <> '') or text is not null or not ok
