-- Protocol P2: the PHQ-9 total is the sum of items 1-9, checked where every item is present.
-- Item 10 (functional difficulty) is not part of the total.
select record_id, redcap_event_name, redcap_repeat_instance, 'phq9_total' as field
from {batch}
where
    phq9_1 is not null
    and phq9_2 is not null
    and phq9_3 is not null
    and phq9_4 is not null
    and phq9_5 is not null
    and phq9_6 is not null
    and phq9_7 is not null
    and phq9_8 is not null
    and phq9_9 is not null
    and phq9_total is distinct from (
        phq9_1
        + phq9_2
        + phq9_3
        + phq9_4
        + phq9_5
        + phq9_6
        + phq9_7
        + phq9_8
        + phq9_9
    )
