-- The service-wide catalog of insight types.
CREATE TABLE catalog.insight_definitions (
    name        text        PRIMARY KEY CHECK (name ~ '^[A-Za-z][A-Za-z0-9_.-]{0,99}$'),
    module      text        NOT NULL CHECK (length(module) BETWEEN 1 AND 50),
    priority    text        NOT NULL CHECK (priority IN ('normal', 'high')),
    online      boolean     NOT NULL DEFAULT false,
    source      text        NOT NULL DEFAULT 'store' CHECK (source IN ('store', 'live')),
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Where each tenant's ingestion stands: the last (updated_at, id) committed. Kept in the catalog, beside the tenants,
-- so each tenant schema holds only its data tables; it is written in the same transaction as each page.
CREATE TABLE catalog.ingestion_cursors (
    tenant_id   text        PRIMARY KEY,
    updated_at  timestamptz NOT NULL,
    id          text        NOT NULL,
    moved_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalog.ingestion_runs (
    id                 uuid        PRIMARY KEY,
    tenant_id          text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'interrupted')),
    trigger            text        NOT NULL,
    requested_at       timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    finished_at        timestamptz,
    pages              integer     NOT NULL DEFAULT 0,
    rows_read          bigint      NOT NULL DEFAULT 0,
    rows_changed       bigint      NOT NULL DEFAULT 0,
    messages_enqueued  bigint      NOT NULL DEFAULT 0,
    skipped            bigint      NOT NULL DEFAULT 0,
    skipped_types      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    bytes_processed    bigint      NOT NULL DEFAULT 0,
    bytes_billed       bigint      NOT NULL DEFAULT 0,
    estimated_cost_usd numeric(14, 6) NOT NULL DEFAULT 0,
    error              text
);

CREATE INDEX ingestion_runs_tenant ON catalog.ingestion_runs (tenant_id, requested_at DESC, id DESC);
-- At most one queued or running run per tenant.
CREATE UNIQUE INDEX ingestion_runs_active ON catalog.ingestion_runs (tenant_id) WHERE status IN ('queued', 'running');
