-- When ingestion last read the tenant's source to its end. A scheduled run that found nothing leaves no run behind, only
-- this time; a tenant whose source never had a row has a cursor row without a position.
ALTER TABLE catalog.ingestion_cursors
    ADD COLUMN checked_at timestamptz,
    ALTER COLUMN updated_at DROP NOT NULL,
    ALTER COLUMN id DROP NOT NULL,
    ALTER COLUMN moved_at DROP NOT NULL;

-- A position and a time of move come together.
ALTER TABLE catalog.ingestion_cursors
    ADD CONSTRAINT ingestion_cursors_position CHECK ((updated_at IS NULL) = (id IS NULL) AND (updated_at IS NULL) = (moved_at IS NULL));
