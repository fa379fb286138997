-- Replace the flagged cells of one column by their marker.
-- ${table} and ${column} are identifiers from the data dictionary, quoted by registry/phi.py;
-- __phi_redactions(__row, field, marker) is a temporary table filled from the scan's hits.
-- The top-code '90' replaces a number only (an age field); an age written in text gets a marker.
update ${table} as t
set ${column} = case
    when r.marker = '90' and try_cast(trim(t.${column}) as double) is null then '[REDACTED:age_over_89]'
    else r.marker
end
from __phi_redactions as r
where r.field = $field
  and r.__row = t.__row
