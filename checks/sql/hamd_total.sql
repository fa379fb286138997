-- Protocol P2: the HAM-D total is the sum of items 1-17, checked where every item is present.
select record_id, redcap_event_name, redcap_repeat_instance, 'hamd_total' as field
from {batch}
where
    hamd_1 is not null
    and hamd_2 is not null
    and hamd_3 is not null
    and hamd_4 is not null
    and hamd_5 is not null
    and hamd_6 is not null
    and hamd_7 is not null
    and hamd_8 is not null
    and hamd_9 is not null
    and hamd_10 is not null
    and hamd_11 is not null
    and hamd_12 is not null
    and hamd_13 is not null
    and hamd_14 is not null
    and hamd_15 is not null
    and hamd_16 is not null
    and hamd_17 is not null
    and hamd_total is distinct from (
        hamd_1
        + hamd_2
        + hamd_3
        + hamd_4
        + hamd_5
        + hamd_6
        + hamd_7
        + hamd_8
        + hamd_9
        + hamd_10
        + hamd_11
        + hamd_12
        + hamd_13
        + hamd_14
        + hamd_15
        + hamd_16
        + hamd_17
    )
