-- Protocol P2: the MADRS total is the sum of items 1-10, checked where every item is present.
select record_id, redcap_event_name, redcap_repeat_instance, 'madrs_total' as field
from {batch}
where
    madrs_1 is not null
    and madrs_2 is not null
    and madrs_3 is not null
    and madrs_4 is not null
    and madrs_5 is not null
    and madrs_6 is not null
    and madrs_7 is not null
    and madrs_8 is not null
    and madrs_9 is not null
    and madrs_10 is not null
    and madrs_total is distinct from (
        madrs_1
        + madrs_2
        + madrs_3
        + madrs_4
        + madrs_5
        + madrs_6
        + madrs_7
        + madrs_8
        + madrs_9
        + madrs_10
    )
