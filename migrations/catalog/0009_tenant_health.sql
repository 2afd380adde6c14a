-- Each tenant's delivery health, one row per tenant, kept up to date as work happens so that the fleet health view
-- reads the catalog alone. Nodes accumulate what their enqueues, receives, acks and nacks did per tenant in memory and
-- flush it here every FleetHealth:FlushInterval in one statement: counts as deltas (added up across nodes), times
-- with GREATEST. See FleetHealth/TenantHealthFlusher.cs for what each column means.
CREATE TABLE catalog.tenant_health (
    tenant_id          text        PRIMARY KEY REFERENCES catalog.tenants (id) ON DELETE CASCADE,
    ready              bigint      NOT NULL DEFAULT 0,
    leased             bigint      NOT NULL DEFAULT 0,
    dead               bigint      NOT NULL DEFAULT 0,
    -- Since when the oldest message known to be visible has waited (its enqueue, or the requeue or redrive that made
    -- it visible again; later than now for a delayed one); null when none is known to wait.
    oldest_visible_at  timestamptz,
    -- The last time a receive found nothing visible left: what was visible before is gone.
    drained_at         timestamptz,
    last_receive_at    timestamptz,
    last_ack_at        timestamptz,
    -- Processing failures reported in the hourly buckets of catalog.tenant_processing_failures still kept.
    failures_day       bigint      NOT NULL DEFAULT 0,
    -- The last flush that changed the row, and the last reconciliation that counted the tenant's queue exactly.
    touched_at         timestamptz NOT NULL DEFAULT now(),
    rebased_at         timestamptz
);

-- One index per sort of the view, worst first, each with the tenant id to page on.
CREATE INDEX tenant_health_oldest_visible ON catalog.tenant_health ((coalesce(oldest_visible_at, 'infinity'::timestamptz)), tenant_id);
CREATE INDEX tenant_health_last_receive ON catalog.tenant_health ((coalesce(last_receive_at, '-infinity'::timestamptz)), tenant_id);
CREATE INDEX tenant_health_dead ON catalog.tenant_health ((-dead), tenant_id);
CREATE INDEX tenant_health_failures ON catalog.tenant_health ((-failures_day), tenant_id);
-- The tenants the reconciliation has to count again: touched since it last did.
CREATE INDEX tenant_health_unreconciled ON catalog.tenant_health (touched_at) WHERE rebased_at IS NULL OR touched_at > rebased_at;

-- InsightProcessingStatus reports with status failed, per tenant and hour; buckets older than a day are deleted and
-- subtracted from tenant_health.failures_day in the same statement.
CREATE TABLE catalog.tenant_processing_failures (
    tenant_id  text        NOT NULL REFERENCES catalog.tenants (id) ON DELETE CASCADE,
    hour       timestamptz NOT NULL,
    failures   bigint      NOT NULL,
    PRIMARY KEY (tenant_id, hour)
);

CREATE INDEX tenant_processing_failures_hour ON catalog.tenant_processing_failures (hour);

-- Tenants that exist now start without counts: the reconciliation counts each once (touched, never rebased).
INSERT INTO catalog.tenant_health (tenant_id)
SELECT id FROM catalog.tenants WHERE status IN ('active', 'suspended');
