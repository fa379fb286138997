-- Each finding with its data query sentence: __texts holds one sentence per distinct
-- field, rule, event, value and expectation of __context (composed in Python,
-- registry/checks/query_text.py); the view joins them onto every finding. It is what the
-- gate stores and reports.
create or replace temp view __result as
select c.*, t.query
from __context as c
left join __texts as t
    on t.field = c.field
    and t.rule = c.rule
    and t.event is not distinct from c.event
    and t.value is not distinct from c.value
    and t.expectation = c.expectation
