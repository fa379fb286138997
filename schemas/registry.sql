-- The registry's own tables (schema registry): batches, data-quality findings and runs,
-- analysis-plan locks. Each batch's data lives in its own
-- schema batch_<batch_id>; views in main point at the current batch.
create schema if not exists registry;

create table if not exists registry.batches (
    batch_id            integer primary key,
    file_name           varchar not null,
    source_sha256       varchar not null,
    dictionary_sha256   varchar not null,
    project             varchar,
    record_id_field     varchar,
    export_format       varchar,      -- raw | label
    rows                bigint,       -- data rows in the export
    records             bigint,       -- distinct record ids
    instrument_rows     json,         -- form -> rows
    instrument_records  json,         -- form -> distinct records
    dropped_identifiers json,         -- fields tagged Identifier? = y that were in the export
    redacted            json,         -- [{record_id, event, instance, field, kind}] replaced by a marker
    ignored_columns     json,         -- columns dropped with --ignore-extra
    cast_failures       bigint,
    missing_values      bigint,
    study_day_anchor    varchar,
    toolkit_version     varchar,
    ingested_at         timestamp,
    is_current          boolean,
    notes               json          -- ["..."]: how the export was read leniently (decimal commas, ...)
);
-- Registries made before batch notes existed get the column.
alter table registry.batches add column if not exists notes json;

-- The gate's tables in the registry (docs/registry_layout.md): findings per batch, and one
-- row per `registry validate` run. The analysis step reads the latest run of the current
-- batch to know whether the gate passed.

create table if not exists registry.findings (
    batch_id    integer,
    record_id   varchar,
    event       varchar,
    instance    integer,
    field       varchar,
    rule        varchar,
    severity    varchar,   -- error | warning
    expectation varchar,   -- <suite name>/<check label>
    status      varchar,   -- new | open (also found in the previous validated batch) | confirmed
    query_id    varchar,   -- stable across batches: hash of record, event, instance, field, rule
    site        varchar,   -- redcap_data_access_group of the record ('' when the project has none)
    value       varchar,   -- the flagged value as text; NULL for free text (never shown)
    value_key   varchar,   -- sha256 of the flagged value (free text too): a confirmed query reopens on change
    query       varchar    -- one sentence for a site coordinator
);

-- Registries made before queries existed get the new columns.
alter table registry.findings add column if not exists query_id varchar;
alter table registry.findings add column if not exists site varchar;
alter table registry.findings add column if not exists value varchar;
alter table registry.findings add column if not exists value_key varchar;
alter table registry.findings add column if not exists query varchar;

-- Answers from sites (`registry queries import`): one row per answered query per import.
create table if not exists registry.query_responses (
    query_id      varchar not null,
    response      varchar not null,   -- corrected | confirmed | cannot_fix
    response_note varchar,
    value_key     varchar,            -- the value the answer was about (sha256, as in findings)
    batch_id      integer,            -- the batch whose findings were answered
    answered_at   timestamp not null, -- UTC, when imported
    source_file   varchar,
    source_row    integer
);

create table if not exists registry.validation_runs (
    batch_id   integer,
    run_at     timestamp,
    passed     boolean,
    n_errors   integer,
    n_warnings integer
);

-- Analysis-plan locks: one row per `registry plan lock` that recorded a new plan hash.
create table if not exists registry.plan_locks (
    lock_id          integer primary key,
    plan_sha256      varchar not null,
    plan_file        varchar not null,
    plan_title       varchar,
    locked_at        timestamp not null,   -- UTC
    toolkit_version  varchar
);

-- One row per `registry analyze` run that wrote results.json: what the next report compares with.
create table if not exists registry.analysis_runs (
    batch_id      integer not null,
    run_at        timestamp not null,   -- UTC
    out_dir       varchar,
    cohort_records json,                -- {cohort code: records} of the batch
    estimates     json                  -- [{result, n, estimate}] of the prespecified results
);
