-- Cells that look like a HIPAA Safe Harbor identifier.
-- __phi_cells(__row, record_id, redcap_event_name, redcap_repeat_instance, field, cell) is a temporary
-- view made by registry/phi.py (phi_cells.sql or phi_key_cells.sql); every pattern is a bound
-- parameter ($email, $phone, ..., $any = all of them, $clinical = lab values to blank first),
-- defined in registry/phi_patterns.py. Every non-empty cell is tested against $any; the kinds
-- are named only for the cells it matched. One row per cell and kind; the value is never selected.
with texts as (
    select __row, record_id, redcap_event_name, redcap_repeat_instance, field,
           regexp_replace(cell, $clinical, ' ', 'g') as cell
    from __phi_cells
    where cell is not null
),

matched as (
    select * from texts
    where regexp_matches(cell, $any)
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
            case when regexp_matches(cell, $date) then 'date' end,
            case when regexp_matches(cell, $name) then 'name' end,
            case when regexp_matches(cell, $vehicle) then 'vehicle' end,
            case when regexp_matches(cell, $device) then 'device' end,
            case when regexp_matches(cell, $license) then 'license' end,
            case when regexp_matches(cell, $biometric) then 'biometric' end,
            case when regexp_matches(cell, $photo) then 'photo' end
        ] as found
    from matched
),

final as (
    select __row, record_id, redcap_event_name, redcap_repeat_instance, field, unnest(found) as kind
    from kinds
)

select * from final
where kind is not null
order by __row, field, kind
