-- Free-text cells that look like a HIPAA Safe Harbor identifier.
-- ${table} and ${columns} are identifiers from the data dictionary, quoted by registry/phi.py;
-- every pattern is a bound parameter ($email, $phone, ...), defined in registry/phi.py.
-- One row per cell and kind; the value itself is never selected.
with cells as (
    unpivot (
        select __row, record_id, redcap_event_name, redcap_repeat_instance, ${columns}
        from ${table}
    )
    on ${columns}
    into name field value cell
),

candidates as (
    -- every pattern needs a digit, an '@', or a web address: skip the rest cheaply
    select * from cells
    where regexp_matches(cell, $prefilter)
),

kinds as (
    select
        __row, record_id, redcap_event_name, redcap_repeat_instance, field,
        [
            case when regexp_matches(cell, $email) then 'email' end,
            case when regexp_matches(cell, $url) then 'url' end,
            case when regexp_matches(cell, $ip_address) then 'ip_address' end,
            case when regexp_matches(cell, $ssn) then 'ssn' end,
            case when regexp_matches(cell, $fax) then 'fax' end,
            case when regexp_matches(cell, $phone) then 'phone' end,
            case when regexp_matches(cell, $mrn) then 'mrn' end,
            case when regexp_matches(cell, $street_address) then 'street_address' end,
            case when regexp_matches(cell, $zip_code) then 'zip_code' end,
            case when regexp_matches(cell, $age_over_89) then 'age_over_89' end,
            case when regexp_matches(cell, $date) then 'date' end
        ] as found
    from candidates
),

final as (
    select __row, record_id, redcap_event_name, redcap_repeat_instance, field, unnest(found) as kind
    from kinds
)

select * from final
where kind is not null
order by __row, field, kind
