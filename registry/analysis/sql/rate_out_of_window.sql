-- One row per analysed subject x outcome x follow-up visit x kind whose response (or
-- remission) status is unknown because a total fell outside its visit window (plan
-- [visits.windows]): response needs both totals, remission the follow-up total.
-- Reads _pairs (pairs.sql). Counted as "out of window" by rates.sql and paired_rates.sql.
select cohort, scale, visit, 'response' as kind, record_id
from _pairs
where left_out = 'out_of_window'
union all
select cohort, scale, visit, 'remission' as kind, record_id
from _pairs
where followup is null and followup_out_of_window
