"""Prespecified analyses of the registry, driven by the analysis plan.

One concept per module: ``plan`` (the TOML plan, frozen), ``lock`` (plan locks),
``provenance`` (batch and gate), ``stage`` (plan fields into fixed-name views),
``population``, ``paired``, ``rates``, ``paired_rates`` (McNemar), ``relapse``, ``power``,
``results`` (results.json) and ``run`` (the recipe behind ``registry analyze``). Data work
is in ``sql/*.sql``.
"""
