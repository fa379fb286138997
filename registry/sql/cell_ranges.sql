-- What the columns of the export hold, without grouping (cheap): for checkboxes and form statuses
-- the smallest value, the largest and the longest length; for text columns the cells holding a
-- missing-data code ($codes). registry/redcap/side_rows.py reads them to search only the columns
-- that may hold a failed cast or a missing-data code. The slot below: those aggregates.
select ${aggregates}
from raw as r
