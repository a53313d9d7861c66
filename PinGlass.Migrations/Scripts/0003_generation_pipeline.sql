-- The generation pipeline: what a generation was asked for and chose, each portrait, and each prediction made for it.

ALTER TABLE generation_jobs
    ADD COLUMN styles              text[] NOT NULL DEFAULT '{}',
    ADD COLUMN batch_size          integer NOT NULL DEFAULT 23 CHECK (batch_size > 0),
    ADD COLUMN batch_delay_ms      integer NOT NULL DEFAULT 0 CHECK (batch_delay_ms >= 0),
    ADD COLUMN current_batch       integer NOT NULL DEFAULT 0,
    ADD COLUMN estimated_cost      numeric(10,4) NOT NULL DEFAULT 0,
    ADD COLUMN spent_usd           numeric(12,6) NOT NULL DEFAULT 0,
    ADD COLUMN fallback_used       boolean NOT NULL DEFAULT false,
    ADD COLUMN photos              jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN reference_photos    jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN reference_centroid  real[],
    ADD COLUMN deadline_at         timestamptz NOT NULL DEFAULT now() + interval '15 minutes',
    ADD COLUMN planned_at          timestamptz,
    ADD COLUMN cancel_requested_at timestamptz,
    -- Bumped by every change a client can see: the id of each progress event.
    ADD COLUMN version             bigint NOT NULL DEFAULT 1;

-- One row per portrait (style) of a generation.
CREATE TABLE portraits (
    generation_id      uuid NOT NULL REFERENCES generation_jobs (id) ON DELETE CASCADE,
    index              integer NOT NULL CHECK (index >= 0),
    style_id           text NOT NULL,
    batch              integer NOT NULL CHECK (batch >= 0),
    status             text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    -- The attempt now in charge; a prediction of an older attempt can no longer change the portrait.
    attempt            integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    -- The first attempt of the current provider chain (a retry on request starts a new chain).
    chain_start        integer NOT NULL DEFAULT 1,
    provider           text,
    model              text,
    cost_usd           numeric(12,6) NOT NULL DEFAULT 0,
    latency_ms         bigint,
    retries            integer NOT NULL DEFAULT 0,
    error_category     text,
    error              text,
    blob_name          text,
    content_type       text,
    started_at         timestamptz,
    completed_at       timestamptz,
    PRIMARY KEY (generation_id, index)
);

-- Every prediction PinGlass asked Replicate for: the per-prediction ledger. A row exists before the create is sent, so a create
-- whose answer was lost is found again by its marker instead of being made twice.
CREATE TABLE predictions (
    generation_id      uuid NOT NULL,
    portrait_index     integer NOT NULL,
    attempt            integer NOT NULL CHECK (attempt > 0),
    marker             text NOT NULL UNIQUE,
    provider           text NOT NULL,
    model              text NOT NULL,
    reference_index    integer NOT NULL,
    prediction_id      text UNIQUE,
    status             text NOT NULL DEFAULT 'creating'
        CHECK (status IN ('creating', 'not_created', 'starting', 'processing', 'succeeded', 'failed', 'canceled', 'aborted')),
    predict_time       double precision,
    cost_usd           numeric(12,6) NOT NULL DEFAULT 0,
    retries            integer NOT NULL DEFAULT 0,
    error_category     text,
    error              text,
    output_url         text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    submitted_at       timestamptz,
    last_checked_at    timestamptz,
    -- Whoever sends the create holds it until then, so two workers never send the same attempt.
    claimed_until      timestamptz,
    completed_at       timestamptz,
    PRIMARY KEY (generation_id, portrait_index, attempt),
    FOREIGN KEY (generation_id, portrait_index) REFERENCES portraits (generation_id, index) ON DELETE CASCADE
);

CREATE INDEX predictions_in_flight_idx ON predictions (submitted_at) WHERE status IN ('creating', 'starting', 'processing');
CREATE INDEX generation_jobs_deadline_idx ON generation_jobs (deadline_at) WHERE completed_at IS NULL;
