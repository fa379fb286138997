-- Rows whose data access group is not one of the project's ($known: unique group names):
-- the first such row, how many, and its value.
select min(__row), count(*), arg_min(redcap_data_access_group, __row)
from raw
where nullif(trim(redcap_data_access_group), '') is not null
  and not list_contains($known::varchar[], redcap_data_access_group)
having count(*) > 0
