-- Replace the batch's findings with this run's, and record the run (inside one transaction).
delete from registry.findings where batch_id = $batch_id;

insert into registry.findings
select $batch_id, record_id, event, instance, field, rule, severity, expectation, status,
       query_id, site, value, value_key, query
from __result;

insert into registry.validation_runs
values ($batch_id, $run_at, $passed, $n_errors, $n_warnings);
