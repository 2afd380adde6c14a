-- Now and then (Ingestion:SweepAuditEvery) a sweep reads a wider window (Ingestion:SweepAuditLookBack): rows that landed
-- later than the look-back after their updated_at are then applied, and counted here as late.
ALTER TABLE catalog.ingestion_sweeps
    ADD COLUMN audit     boolean NOT NULL DEFAULT false,
    ADD COLUMN rows_late bigint  NOT NULL DEFAULT 0;
