-- Finished runs are deleted after Ingestion:RunRetention, oldest first; queued and running runs are never in this index.
CREATE INDEX ingestion_runs_finished ON catalog.ingestion_runs (finished_at) WHERE status IN ('succeeded', 'failed', 'interrupted');
