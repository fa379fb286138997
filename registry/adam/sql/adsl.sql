-- ADSL base: one row per record with cohort, eligibility and population flags, site and
-- the demographic codes. Reads _subjects (registry/analysis/sql/subjects.sql) and
-- _adam_site, _adam_demog, _adam_race (registry/adam/source.py).
with

subjects as (
    select record_id, cohort, eligible, included from _subjects
),

site as (
    select record_id, max(site) as site from _adam_site group by record_id
),

demog as (
    -- the demographics form is filled once per record; max() ignores empty rows
    select record_id, max(age) as age, max(sex) as sex, max(ethnicity) as ethnicity
    from _adam_demog
    group by record_id
),

race as (
    select
        record_id,
        count(*) filter (where checked) as n_race,
        min(code) filter (where checked) as race_code
    from _adam_race
    group by record_id
),

final as (
    select
        s.record_id,
        s.cohort,
        s.eligible,
        s.included,
        si.site,
        d.age,
        d.sex,
        d.ethnicity,
        coalesce(r.n_race, 0) as n_race,
        case when r.n_race = 1 then r.race_code end as race_code
    from subjects as s
    left join site as si using (record_id)
    left join demog as d using (record_id)
    left join race as r using (record_id)
)

select * from final
order by record_id
