-- The batch that already holds this export read with this dictionary, if any.
select batch_id
from registry.batches
where source_sha256 = $source_sha256
  and dictionary_sha256 = $dictionary_sha256
order by batch_id desc
limit 1
