-- Moves of a tenant's schema from one store to another, as the admin follows them (GET /tenants/{id}/moves/{moveId}).
-- At most one move of a tenant is under way at a time.
CREATE TABLE catalog.tenant_moves (
    id                uuid        PRIMARY KEY,
    tenant_id         text        NOT NULL,
    from_store        text        NOT NULL,
    to_store          text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('queued', 'copying', 'switching', 'succeeded', 'failed')),
    requested_by      text        NOT NULL,
    requested_at      timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    switched_at       timestamptz,
    finished_at       timestamptz,
    models_copied     bigint      NOT NULL DEFAULT 0,
    messages_copied   bigint      NOT NULL DEFAULT 0,
    switch_ms         double precision,
    error             text
);

CREATE UNIQUE INDEX tenant_moves_one_at_a_time ON catalog.tenant_moves (tenant_id) WHERE status IN ('queued', 'copying', 'switching');
CREATE INDEX tenant_moves_of_tenant ON catalog.tenant_moves (tenant_id, requested_at DESC);
