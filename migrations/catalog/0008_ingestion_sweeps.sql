-- Scheduled ingestion reads the source once per interval for the whole fleet (a sweep), from a fleet watermark with a
-- look-back, and routes the rows to their tenants. Per-tenant runs remain for an admin trigger, a new tenant's backfill
-- and a resumed tenant's catch-up.
CREATE TABLE catalog.ingestion_sweeps (
    id                 uuid        PRIMARY KEY,
    status             text        NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'interrupted')),
    requested_at       timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    finished_at        timestamptz,
    -- The rows read were those updated at or after this (the watermark before, less the look-back).
    since              timestamptz,
    watermark_before   timestamptz,
    watermark_after    timestamptz,
    pages              integer     NOT NULL DEFAULT 0,
    rows_read          bigint      NOT NULL DEFAULT 0,
    -- Rows applied to a tenant riding the sweep (changed or not), left for a tenant's own catch-up, of no known tenant.
    rows_routed        bigint      NOT NULL DEFAULT 0,
    rows_changed       bigint      NOT NULL DEFAULT 0,
    rows_deferred      bigint      NOT NULL DEFAULT 0,
    rows_unknown       bigint      NOT NULL DEFAULT 0,
    tenants_touched    integer     NOT NULL DEFAULT 0,
    bytes_processed    bigint      NOT NULL DEFAULT 0,
    bytes_billed       bigint      NOT NULL DEFAULT 0,
    estimated_cost_usd numeric(14, 6) NOT NULL DEFAULT 0,
    error              text
);

-- At most one sweep queued or running.
CREATE UNIQUE INDEX ingestion_sweeps_active ON catalog.ingestion_sweeps ((true)) WHERE status IN ('queued', 'running');
CREATE INDEX ingestion_sweeps_finished ON catalog.ingestion_sweeps (finished_at) WHERE status IN ('succeeded', 'failed', 'interrupted');

-- The newest updated_at a completed sweep read: the next sweep reads from it, less the look-back. One row.
CREATE TABLE catalog.ingestion_fleet (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    watermark  timestamptz NOT NULL,
    moved_at   timestamptz NOT NULL DEFAULT now()
);

-- A tenant rides the sweep (its rows are applied by it) from the time its own run last read its source to the end,
-- unless a sweep had to leave rows of the tenant aside since (deferred_at): then its next run catches up first.
-- swept_rows and swept_bytes_billed: the tenant's share of the sweeps, apportioned by rows.
ALTER TABLE catalog.ingestion_cursors
    ADD COLUMN riding_since       timestamptz,
    ADD COLUMN deferred_at        timestamptz,
    ADD COLUMN swept_rows         bigint NOT NULL DEFAULT 0,
    ADD COLUMN swept_bytes_billed bigint NOT NULL DEFAULT 0,
    ADD COLUMN swept_cost_usd     numeric(14, 6) NOT NULL DEFAULT 0;
