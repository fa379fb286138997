-- The relapse scale's ratings, one per record, study day and source: where a source (a form
-- of [[relapse.ratings]]) has several rated rows on one day, the plan's [ratings] same_day
-- rule picks its rating: 'last_instance' (the highest repeat instance; then the last event
-- name), 'first_instance' (the lowest), or 'mean' (their mean). The gate warns about such
-- days (checks/sql/*_same_day_ratings.sql). Sources are combined afterwards, by source_rank
-- (onset.sql, relapse_times.sql). Reads _relapse_ratings_raw. Parameter: $same_day.
select
    record_id,
    day,
    source_rank,
    case $same_day
        when 'mean' then avg(score)
        when 'first_instance' then arg_min(score, {'instance': coalesce(instance, 0), 'event': event})
        else arg_max(score, {'instance': coalesce(instance, 0), 'event': event})
    end as score
from _relapse_ratings_raw
where day is not null and score is not null
group by record_id, day, source_rank
