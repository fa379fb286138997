-- Registry bookkeeping: one row per ingested batch. Each batch's data lives in its own
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
    is_current          boolean
);
