-- The ClinicalData of an ODM export, one element a line (as REDCap writes it), into odm_lines.
-- Each line is split at its double quotes (an attribute value cannot hold one) and typed by its
-- tag: 1 <ClinicalData>, 2 <SubjectData>, 3 <StudyEventData>, 4 <FormData>, 5 <ItemGroupData>,
-- 6 <ItemData ItemOID=".." Value=".."/>, 7-12 the closing tags of ItemGroupData, FormData,
-- StudyEventData, SubjectData, ClinicalData and ODM; null anything else. REDCap's own
-- indentation is compared first (cheap), any other is trimmed. text: the line, for the tags
-- whose attributes the caller reads or whose shape SQL does not check ('' for a blank line).
-- No line numbers here, so that the lines are read in parallel: they are stored in file order
-- (insertion order is kept) and numbered by odm_elements.sql.
create or replace temp table odm_lines as
with lines as (
    select line, string_split(line, '"') as p
    from read_csv($path, columns = {'line': 'VARCHAR'}, delim = '\x01', quote = '', escape = '',
                  header = false, auto_detect = false, skip = $skip, max_line_size = 100000000)
), typed as (
    select line, p,
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
)
select
        coalesce(plain, case when len(p) % 2 = 1 then case
            when starts_with(ltrim(p[1], ' 	'), '<ItemGroupData') then 5
            when starts_with(ltrim(p[1], ' 	'), '<FormData') then 4
            when starts_with(ltrim(p[1], ' 	'), '<StudyEventData') then 3
            when starts_with(ltrim(p[1], ' 	'), '<SubjectData') then 2
            when starts_with(ltrim(p[1], ' 	'), '<ClinicalData') then 1
        end end) as kind,
        case when plain = 6 then p[2] end as oid,
        case when plain = 6 then p[4] end as value,
        case when plain is null then coalesce(line, '') end as text
    from typed
