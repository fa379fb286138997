-- Record a plan lock. Parameters: $plan_sha256, $plan_file, $plan_title, $locked_at, $toolkit_version.
insert into registry.plan_locks
select
    coalesce((select max(lock_id) from registry.plan_locks), 0) + 1,
    $plan_sha256,
    $plan_file,
    $plan_title,
    $locked_at,
    $toolkit_version
