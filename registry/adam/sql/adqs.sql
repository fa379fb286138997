-- ADQS rows: one per record x parameter x analysis visit that has a value.
-- Totals come from _scores, the plan's staged scale totals, with the rule of
-- registry/analysis/sql/pairs.sql (the last repeat instance of a record and event); items
-- from _adam_items with the same rule. BASE is the baseline visit's value; CHG and PCHG
-- are set on post-baseline records only (PCHG NULL when BASE = 0). ANL01FL marks the
-- records the paired analysis used: both records of every complete pair in _pairs.
-- ANL02FL marks the records the mixed model (MMRM) used: the follow-up totals of the
-- complete pairs at its visits and outcomes, and the baseline totals of those subjects.
-- Rating-source parameters (is_rating: the session MADRS ratings) come from _adam_ratings,
-- every rated row with AVISIT 'Session rating', no AVISITN, ADY the rating's own study day
-- and SRCSEQ its repeat instance; BASE is the baseline total of the same scale (so PCHG is the
-- percent change from the baseline visit that defines response).
-- Reads _scores, _pairs, _adam_items, _adam_days, _adam_params, _adam_visits, _adam_ratings.
-- Parameters: $baseline (VARCHAR, the baseline visit's unique event name),
-- $mmrm_visits and $mmrm_scales (VARCHAR[], the plan's [mmrm] visits and outcomes).
with

params as (
    select * from _adam_params
),

visits as (
    select * from _adam_visits
),

totals as (
    select
        s.record_id,
        s.redcap_event_name,
        p.paramcd,
        arg_max(s.score, coalesce(s.redcap_repeat_instance, 0)) as aval,
        max(coalesce(s.redcap_repeat_instance, 0)) as instance
    from _scores as s
    join params as p on p.scale = s.scale and p.is_total
    where s.score is not null
    group by s.record_id, s.redcap_event_name, p.paramcd
),

items as (
    select
        i.record_id,
        i.redcap_event_name,
        p.paramcd,
        arg_max(i.value, coalesce(i.redcap_repeat_instance, 0)) as aval,
        max(coalesce(i.redcap_repeat_instance, 0)) as instance
    from _adam_items as i
    join params as p on p.field = i.field and not p.is_total and not p.is_rating
    where i.value is not null
    group by i.record_id, i.redcap_event_name, p.paramcd
),

analysis_values as (
    select * from totals
    union all
    select * from items
),

located as (
    select
        a.record_id,
        a.redcap_event_name,
        a.instance,
        a.aval,
        p.paramcd,
        p.param,
        p.paramn,
        p.scale,
        p.form,
        p.field,
        p.is_total,
        v.avisit,
        v.avisitn,
        d.day as ady
    from analysis_values as a
    join params as p using (paramcd)
    join visits as v on v.visit = a.redcap_event_name
    left join _adam_days as d
        on d.record_id = a.record_id
        and d.redcap_event_name = a.redcap_event_name
        and d.instance = a.instance
        and d.form = p.form
),

baseline as (
    select record_id, paramcd, aval as base from located where redcap_event_name = $baseline
),

scale_baseline as (
    select record_id, scale, aval as base
    from located
    where redcap_event_name = $baseline and is_total
),

ratings as (
    select
        r.record_id,
        p.paramcd,
        p.param,
        p.paramn,
        'Session rating' as avisit,
        null::double as avisitn,
        r.day as ady,
        r.value as aval,
        b.base,
        r.value - b.base as chg,
        case when b.base <> 0 then (r.value - b.base) / abs(b.base) * 100 end as pchg,
        null::varchar as ablfl,
        null::varchar as anl01fl,
        null::varchar as anl02fl,
        p.form as srcdom,
        p.field as srcvar,
        nullif(r.instance, 0) as srcseq
    from _adam_ratings as r
    join params as p on p.paramcd = r.paramcd and p.is_rating
    left join scale_baseline as b on b.record_id = r.record_id and b.scale = p.scale
    where r.value is not null
),

used as (
    -- complete pairs of the paired analysis, and the baseline records they used
    select record_id, scale, visit from _pairs where left_out is null
    union
    select record_id, scale, $baseline from _pairs where left_out is null
),

used_mmrm as (
    select record_id, scale, visit from _pairs
    where left_out is null
        and list_contains($mmrm_visits::varchar[], visit)
        and list_contains($mmrm_scales::varchar[], scale)
),

used_mmrm_all as (
    select record_id, scale, visit from used_mmrm
    union
    select record_id, scale, $baseline from used_mmrm
),

final as (
    select
        l.record_id,
        l.paramcd,
        l.param,
        l.paramn,
        l.avisit,
        l.avisitn,
        l.ady,
        l.aval,
        b.base,
        case when l.redcap_event_name <> $baseline then l.aval - b.base end as chg,
        case when l.redcap_event_name <> $baseline and b.base <> 0
            then (l.aval - b.base) / abs(b.base) * 100 end as pchg,
        case when l.redcap_event_name = $baseline then 'Y' end as ablfl,
        case when l.is_total and u.record_id is not null then 'Y' end as anl01fl,
        case when l.is_total and m.record_id is not null then 'Y' end as anl02fl,
        l.form as srcdom,
        l.field as srcvar,
        nullif(l.instance, 0) as srcseq
    from located as l
    left join baseline as b using (record_id, paramcd)
    left join used as u
        on u.record_id = l.record_id and u.scale = l.scale and u.visit = l.redcap_event_name
    left join used_mmrm_all as m
        on m.record_id = l.record_id and m.scale = l.scale and m.visit = l.redcap_event_name
)

select * from final
union all
select * from ratings
order by record_id, paramn, avisitn, ady, srcseq
