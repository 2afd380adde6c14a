-- The tenant's SmartLink-style delivery queue. $schema$ is the tenant's quoted schema name.
-- A message is visible when it is ready or leased and its visible_at has passed (an expired lease).
CREATE TABLE $schema$.queue_messages (
    seq               bigint      GENERATED ALWAYS AS IDENTITY,
    id                uuid        PRIMARY KEY,
    type              text        NOT NULL,
    priority          smallint    NOT NULL DEFAULT 0,
    envelope          json        NOT NULL,
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

-- The history holds only the exceptional events (expiry, nack, dead letter, redrive, processing status), so the
-- updates of leases and acks stay small.

-- Receive walks this in priority, then enqueue, order; acked and dead messages leave it.
CREATE INDEX queue_messages_deliverable ON $schema$.queue_messages (priority DESC, seq) INCLUDE (visible_at)
    WHERE status IN ('ready', 'leased');
-- Dead letters, for the admins. Browsing pages on the primary key: ids are UUIDv7, in enqueue order. Every index costs
-- each enqueue, lease and ack, so there are no others; the hourly purge of acked messages scans the table.
CREATE INDEX queue_messages_dead ON $schema$.queue_messages (id) WHERE status = 'dead';
