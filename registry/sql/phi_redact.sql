-- Replace the flagged cells of one column by their marker.
-- ${table} and ${column} are identifiers from the data dictionary, quoted by registry/phi.py;
-- __phi_redactions(__row, field, marker) is a temporary table filled from the scan's hits.
update ${table} as t
set ${column} = r.marker
from __phi_redactions as r
where r.field = $field
  and r.__row = t.__row
