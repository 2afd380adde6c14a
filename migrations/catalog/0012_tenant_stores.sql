-- Tenant stores: the PostgreSQL databases that hold tenant schemas. 'main' is the catalog's own database; the others
-- are named in the settings and registered here by the nodes at start. Each tenant's row names its store; a store's
-- tenant count is kept with every provisioning, deprovisioning and move, so placement and the listing of stores read
-- one row per store.
CREATE TABLE catalog.stores (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{0,31}$'),
    tenants    integer NOT NULL DEFAULT 0 CHECK (tenants >= 0),
    added_at   timestamptz NOT NULL DEFAULT now()
);

INSERT INTO catalog.stores (name, tenants) SELECT 'main', count(*) FROM catalog.tenants;

ALTER TABLE catalog.tenants ADD COLUMN store text NOT NULL DEFAULT 'main' REFERENCES catalog.stores (name);
