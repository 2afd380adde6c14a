-- Commands and events that must reach the bus, written in the same transaction as the change they announce and
-- relayed by every node (FOR UPDATE SKIP LOCKED), deleted once the broker confirmed them. Normally empty: a row lives
-- between its commit and the relay's next pass, or for the length of a broker outage.
CREATE TABLE catalog.outbox (
    position        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id      uuid        NOT NULL,
    message_type    text        NOT NULL,
    body            text        NOT NULL,
    -- At most one pending message per key: a command re-sent while the first is still waiting is not queued twice.
    dedupe_key      text,
    -- The node that wrote it (an in-memory bus reaches only its own process).
    origin          uuid        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text
);

CREATE UNIQUE INDEX outbox_dedupe ON catalog.outbox (dedupe_key) WHERE dedupe_key IS NOT NULL;

-- How often a queued run's command was sent again because no worker had started it.
ALTER TABLE catalog.ingestion_runs ADD COLUMN resends integer NOT NULL DEFAULT 0;
