-- The export's first $sample rows, column by column: each distinct value of each of ${columns}
-- (the categorical columns, quoted by registry/redcap/labels.py) and how many cells hold it.
-- UNPIVOT leaves blank (NULL) cells out. labels.detect_format counts codes against labels in them.
select name, value, count(*)
from (
    unpivot (select ${columns} from raw limit $sample)
    on ${columns}
    into name name value value
)
group by all
