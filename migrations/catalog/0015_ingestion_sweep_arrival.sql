-- A sweep may read the source by arrival (Ingestion:SweepReadBy = Arrival): the rows that reached the source since the
-- newest arrival (commit) time a sweep read, whatever their updated_at. That time is the fleet's arrival watermark.
ALTER TABLE catalog.ingestion_fleet
    ADD COLUMN arrival_watermark timestamptz;

-- How a sweep read the source ('updated_at' or 'arrival'), the arrival watermark before and after it, and a note when
-- it could not read as configured (an arrival watermark older than the source's change history: read by updated_at).
ALTER TABLE catalog.ingestion_sweeps
    ADD COLUMN read_by                  text NOT NULL DEFAULT 'updated_at' CHECK (read_by IN ('updated_at', 'arrival')),
    ADD COLUMN arrival_watermark_before timestamptz,
    ADD COLUMN arrival_watermark_after  timestamptz,
    ADD COLUMN note                     text;
