-- A user's request for portraits: one row per generation, updated as its portraits complete.
CREATE TABLE generation_jobs (
    id                    uuid PRIMARY KEY,
    status                text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'completed', 'completed_with_failures', 'failed', 'cancelled')),
    total_portraits       integer NOT NULL CHECK (total_portraits > 0),
    completed_portraits   integer NOT NULL DEFAULT 0 CHECK (completed_portraits >= 0),
    successful_portraits  integer NOT NULL DEFAULT 0 CHECK (successful_portraits >= 0),
    failed_portraits      integer NOT NULL DEFAULT 0 CHECK (failed_portraits >= 0),
    budget_usd            numeric(10,4) NOT NULL CHECK (budget_usd >= 0),
    options               jsonb NOT NULL DEFAULT '{}'::jsonb,
    error                 text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    completed_at          timestamptz,
    CHECK (completed_portraits = successful_portraits + failed_portraits),
    CHECK (completed_portraits <= total_portraits)
);

CREATE INDEX generation_jobs_status_idx ON generation_jobs (status) WHERE completed_at IS NULL;

-- What a finished generation cost, as the design's cost report shows it.
CREATE TABLE generation_costs (
    id                uuid PRIMARY KEY,
    job_id            uuid NOT NULL UNIQUE REFERENCES generation_jobs (id) ON DELETE CASCADE,
    total_cost        numeric(10,4) NOT NULL CHECK (total_cost >= 0),
    image_count       integer NOT NULL CHECK (image_count >= 0),
    successful_count  integer NOT NULL CHECK (successful_count >= 0),
    failed_count      integer NOT NULL CHECK (failed_count >= 0),
    retried_count     integer NOT NULL CHECK (retried_count >= 0),
    primary_model     text NOT NULL,
    fallback_used     boolean NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX generation_costs_created_at_idx ON generation_costs (created_at);
