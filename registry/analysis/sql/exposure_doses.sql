-- Esketamine sessions by dose and cohort over the analysed subjects: sessions and subjects
-- with at least one session at that dose (dose null: not recorded).
-- Reads _subjects and _sessions (registry/analysis/exposure.py).
select
    p.cohort,
    s.dose,
    count(*) as sessions,
    count(distinct s.record_id) as subjects
from _sessions as s
join _subjects as p on p.record_id = s.record_id and p.analysed
where s.day is not null or s.dose is not null
group by p.cohort, s.dose
order by p.cohort, s.dose nulls last
