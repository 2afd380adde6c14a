-- Tenants: one row per customer installation, and the audit log of admin actions.
CREATE TABLE catalog.tenants (
    id              text        PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status          text        NOT NULL CHECK (status IN ('provisioning', 'active', 'suspended', 'deprovisioning', 'failed')),
    status_reason   text,
    schema_name     text        NOT NULL UNIQUE CHECK (schema_name ~ '^t_[a-z0-9_]{1,61}$'),
    schema_version  integer     NOT NULL DEFAULT 0,
    settings        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tenants_status_id ON catalog.tenants (status, id);

CREATE TABLE catalog.audit_log (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    subject     text        NOT NULL,
    action      text        NOT NULL,
    tenant_id   text,
    outcome     text        NOT NULL,
    detail      text
);

CREATE INDEX audit_log_tenant_at ON catalog.audit_log (tenant_id, at);
