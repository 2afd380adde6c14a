-- Insight models of one tenant, as ingested from the source. $schema$ is the tenant's quoted schema name.
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
