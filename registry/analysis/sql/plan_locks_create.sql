-- Analysis-plan locks: one row per `registry plan lock` that recorded a new plan hash.
create schema if not exists registry;
create table if not exists registry.plan_locks (
    lock_id          integer primary key,
    plan_sha256      varchar not null,
    plan_file        varchar not null,
    plan_title       varchar,
    locked_at        timestamp not null,   -- UTC
    toolkit_version  varchar
);
