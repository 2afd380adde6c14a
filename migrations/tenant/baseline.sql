-- baseline-through: 0003_queue_envelope_text.sql
-- A new tenant's schema in one script: what the tenant migrations up to the one named above build when applied in
-- order, without their intermediate states (0003 rewrote the queue table 0002 had just created). Provisioning runs this,
-- then only the migrations numbered after it, and journals every one of them as applied. The numbered scripts stay the
-- history existing tenants went through; TenantBaselineTests builds a schema both ways and compares them in the system
-- catalogs. To fold newer migrations in, change the tables here and name the newest migration on the first line.
-- $schema$ is the tenant's quoted schema name.

-- Insight models of one tenant, as ingested from the source.
CREATE TABLE $schema$.insight_models (
    id          text        PRIMARY KEY,
    insight     text        NOT NULL,
    module      text        NOT NULL,
    key         text,
    filter      text,
    date_from   date,
    date_to     date,
    payload     jsonb       NOT NULL,
    version     bigint      NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted     boolean     NOT NULL DEFAULT false,
    stored_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX insight_models_lookup ON $schema$.insight_models (insight, key, updated_at DESC);

-- The tenant's SmartLink-style delivery queue.
-- A message is visible when it is ready or leased and its visible_at has passed (an expired lease).
-- The envelope is the text the service wrote: every envelope is built from JSON that is valid by construction, so a
-- `json` check on every insert only cost time.
-- The history holds only the exceptional events (expiry, nack, dead letter, redrive, processing status), so the
-- updates of leases and acks stay small.
CREATE TABLE $schema$.queue_messages (
    seq               bigint      GENERATED ALWAYS AS IDENTITY,
    id                uuid        PRIMARY KEY,
    type              text        NOT NULL,
    priority          smallint    NOT NULL DEFAULT 0,
    envelope          text        NOT NULL,
    status            text        NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'leased', 'acked', 'dead')),
    visible_at        timestamptz NOT NULL DEFAULT now(),
    delivery_count    integer     NOT NULL DEFAULT 0,
    lease_id          uuid,
    leased_at         timestamptz,
    dead_reason       text,
    history           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    processing_status text,
    processing_detail text,
    processing_at     timestamptz,
    enqueued_at       timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz
);

-- Receive walks this in priority, then enqueue, order; acked and dead messages leave it.
CREATE INDEX queue_messages_deliverable ON $schema$.queue_messages (priority DESC, seq) INCLUDE (visible_at)
    WHERE status IN ('ready', 'leased');
-- Dead letters, for the admins. Browsing pages on the primary key: ids are UUIDv7, in enqueue order. Every index costs
-- each enqueue, lease and ack, so there are no others; the hourly purge of acked messages scans the table.
CREATE INDEX queue_messages_dead ON $schema$.queue_messages (id) WHERE status = 'dead';
