-- Every tenant has a cursor row from its provisioning on, so that the fleet health view orders the fleet by ingestion lag
-- from indexes of this one table instead of sorting every tenant at each request. created_at: the time from which a
-- tenant never read counts its lag (its creation).
ALTER TABLE catalog.ingestion_cursors ADD COLUMN created_at timestamptz;

INSERT INTO catalog.ingestion_cursors (tenant_id, moved_at)
SELECT t.id, NULL FROM catalog.tenants t
WHERE NOT EXISTS (SELECT FROM catalog.ingestion_cursors c WHERE c.tenant_id = t.id);

UPDATE catalog.ingestion_cursors c SET created_at = coalesce(t.created_at, now())
FROM catalog.tenants t WHERE t.id = c.tenant_id;

UPDATE catalog.ingestion_cursors SET created_at = now() WHERE created_at IS NULL;

ALTER TABLE catalog.ingestion_cursors
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN created_at SET NOT NULL;

-- The time a tenant's own runs last read its source to the end (its creation before the first): the lag of a tenant
-- that does not ride the fleet sweep, and of one that does when that is later than the last sweep.
CREATE INDEX ingestion_cursors_own_read ON catalog.ingestion_cursors ((coalesce(checked_at, created_at)), tenant_id)
    WHERE riding_since IS NULL;
CREATE INDEX ingestion_cursors_riders_own_read ON catalog.ingestion_cursors ((coalesce(checked_at, created_at)), tenant_id)
    WHERE riding_since IS NOT NULL;
-- Riders read at the last sweep share its time and page by tenant id.
CREATE INDEX ingestion_cursors_riders ON catalog.ingestion_cursors (tenant_id) WHERE riding_since IS NOT NULL;
