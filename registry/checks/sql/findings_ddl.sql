-- The gate's tables in the registry (docs/registry_layout.md): findings per batch, and one
-- row per `registry validate` run. The analysis step reads the latest run of the current
-- batch to know whether the gate passed.
create schema if not exists registry;

create table if not exists registry.findings (
    batch_id    integer,
    record_id   varchar,
    event       varchar,
    instance    integer,
    field       varchar,
    rule        varchar,
    severity    varchar,   -- error | warning
    expectation varchar,   -- <suite name>/<check label>
    status      varchar    -- new | open (also found in the previous validated batch)
);

create table if not exists registry.validation_runs (
    batch_id   integer,
    run_at     timestamp,
    passed     boolean,
    n_errors   integer,
    n_warnings integer
);
