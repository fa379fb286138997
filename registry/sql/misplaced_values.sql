-- The cells of one form ($form) on export rows where that form cannot be: a row of another
-- repeating instrument, a plain row of an event where the form repeats ($repeats: those events,
-- '' for a classic project's), or a row of an event the form is not mapped to (when the
-- instrument-event mapping is known). ${placed} is tidy.py's SQL predicate "the form can be on
-- row r" (bound parameters only); ${columns} the form's export columns, quoted; ${any_value}
-- "one of them holds a value" (a cheap filter before the UNPIVOT). A checkbox or form-status
-- '0' there is REDCap's filler ($fillers), not a value. Blank cells are no value: UNPIVOT leaves
-- NULLs out.
insert into ${table}
select $form, record_id, redcap_event_name, cast(redcap_repeat_instance as integer), redcap_repeat_instrument,
       field, raw_value,
       case when redcap_repeat_instrument is not null and redcap_repeat_instrument <> $form
            then 'a row of the repeating instrument ' || redcap_repeat_instrument
            when redcap_repeat_instrument is null
                 and list_contains($repeats::varchar[], coalesce(redcap_event_name, ''))
            then 'a non-repeating row' || coalesce(' of event ' || redcap_event_name, '')
                 || ', where the form is a repeating instrument'
            else 'a row of event ' || coalesce(redcap_event_name, '(none)') || ', which the form is not mapped to' end,
       __row
from (
    select r.__row, r.record_id, r.redcap_event_name, r.redcap_repeat_instance, r.redcap_repeat_instrument, ${columns}
    from raw as r
    where not (${placed}) and (${any_value})
) unpivot (raw_value for field in (${columns}))
where not (raw_value = '0' and list_contains($fillers, field))
