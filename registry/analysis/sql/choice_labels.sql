-- The choices of one field from the registry's copy of the data dictionary
-- ("1, Completed | 2, Discontinued"). Parameter: $field.
select select_choices_or_calculations as choices
from reg.main._dictionary
where field_name = $field
