-- Which tenants acked messages on which day, so that the purge of acked messages visits only the tenants that have
-- something to purge instead of every schema. A node marks a tenant once per day (its own UTC date), in the statement
-- of the first ack it serves for that tenant that day. due_at says when the purge should look next: at first when the
-- earliest ack of the day is past the retention; after a visit, when the tenant's oldest acked message left is. A day's
-- marker is deleted once every message it may stand for is past the retention, with a day to spare for clock skew.
CREATE TABLE catalog.queue_ack_days (
    tenant_id   text        NOT NULL,
    day         date        NOT NULL,
    due_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

CREATE INDEX queue_ack_days_due ON catalog.queue_ack_days (due_at);

-- Messages acked before this migration have no marker: one old marker per tenant has each of them visited once.
INSERT INTO catalog.queue_ack_days (tenant_id, day, due_at)
SELECT id, DATE '2000-01-01', now() FROM catalog.tenants WHERE status IN ('active', 'suspended');
