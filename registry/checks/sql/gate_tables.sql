-- The gate's working tables of one run (temp: this connection only). __checks: one row per
-- expectation run; rank orders the checks a finding keeps when several flag it. __hits: one
-- row per offending row and check, with the flagged cell as text where the check's scan read it.
create or replace temp table __checks (
    check_idx integer, expectation varchar, rule varchar, severity varchar, field varchar,
    scanned boolean, shown boolean, rank integer
);
create or replace temp table __hits (
    record_id varchar, event varchar, instance integer, field varchar, check_idx integer, value varchar
);
create or replace temp table __run as select $run as run;
