-- What a tenant store keeps about the tenant schemas it holds, beside them, so that a tenant's transaction never needs
-- another database (the catalog may be on another server): the journal of each schema's tenant migrations, and each
-- tenant's ingestion cursor, written in the transaction of the page it ends. Both are keyed by schema name, shared by
-- all the store's schemas (no relation per tenant), and move with the schema. The catalog keeps a copy of each cursor
-- for the fleet's views, written after the page commits.
CREATE TABLE insights_store.tenant_schema_migrations (
    schema_name text        NOT NULL,
    script      text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, script)
);

CREATE TABLE insights_store.ingestion_cursors (
    schema_name text        PRIMARY KEY,
    updated_at  timestamptz NOT NULL,
    id          text        NOT NULL,
    moved_at    timestamptz NOT NULL DEFAULT now()
);

-- In the catalog's database, the store takes over the journal and the cursors the catalog kept until now.
DO $$
BEGIN
    IF to_regclass('catalog.tenant_schema_migrations') IS NOT NULL THEN
        INSERT INTO insights_store.tenant_schema_migrations (schema_name, script, applied_at)
        SELECT schema_name, script, applied_at FROM catalog.tenant_schema_migrations;
        DROP TABLE catalog.tenant_schema_migrations;
    END IF;

    IF to_regclass('catalog.ingestion_cursors') IS NOT NULL THEN
        INSERT INTO insights_store.ingestion_cursors (schema_name, updated_at, id, moved_at)
        SELECT t.schema_name, c.updated_at, c.id, c.moved_at
        FROM catalog.ingestion_cursors c JOIN catalog.tenants t ON t.id = c.tenant_id
        WHERE c.updated_at IS NOT NULL;
    END IF;
END
$$;
