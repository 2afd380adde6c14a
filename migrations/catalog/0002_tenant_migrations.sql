-- Journal of tenant migrations, one row per schema and script. It lives in the catalog so that each tenant schema
-- holds only its own data tables (every relation costs catalog-cache memory in each backend that touches it).
CREATE TABLE catalog.tenant_schema_migrations (
    schema_name text        NOT NULL,
    script      text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, script)
);

-- Background runs of "apply pending tenant migrations to every tenant".
CREATE TABLE catalog.tenant_migration_runs (
    id           uuid        PRIMARY KEY,
    status       text        NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    requested_by text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    total        integer     NOT NULL DEFAULT 0,
    succeeded    integer     NOT NULL DEFAULT 0,
    failed       integer     NOT NULL DEFAULT 0,
    failures     jsonb       NOT NULL DEFAULT '[]'::jsonb
);
