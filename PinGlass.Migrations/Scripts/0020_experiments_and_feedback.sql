-- Experiments: arms (each a set of generation settings) and a traffic split, changed at run time by ops; a generation records the
-- experiment and arm it was assigned, and the settings it ran with (the arm's provider and whether several references go at once).
CREATE TABLE experiments (
    key         text        PRIMARY KEY CHECK (key ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    description text        NOT NULL DEFAULT '',
    -- Only this client application's users are assigned (a partner's own test); NULL for every client's.
    client_id   uuid        REFERENCES clients (id) ON DELETE CASCADE,
    running     boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One running experiment decides a generation's arm.
CREATE UNIQUE INDEX experiments_one_running ON experiments (running) WHERE running;

CREATE TABLE experiment_arms (
    experiment_key text    NOT NULL REFERENCES experiments (key) ON DELETE CASCADE,
    arm            text    NOT NULL CHECK (arm ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    position       integer NOT NULL,
    weight         integer NOT NULL CHECK (weight BETWEEN 0 AND 10000),
    settings       jsonb   NOT NULL,
    PRIMARY KEY (experiment_key, arm)
);

ALTER TABLE generation_jobs
    ADD COLUMN experiment_key  text,
    ADD COLUMN arm             text,
    ADD COLUMN primary_model   text,
    ADD COLUMN multi_reference boolean;
CREATE INDEX generation_jobs_experiment ON generation_jobs (experiment_key, arm) WHERE experiment_key IS NOT NULL;

-- What end users said of their portraits. One row per portrait and kind; like and dislike exclude each other. The style and arm are
-- the portrait's, kept here so preferences are learned from this table alone.
CREATE TABLE portrait_feedback (
    generation_id  uuid        NOT NULL REFERENCES generation_jobs (id) ON DELETE CASCADE,
    portrait_index integer     NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('like', 'dislike', 'favourite', 'downloaded', 'shared')),
    client_id      uuid        NOT NULL,
    user_id        text        NOT NULL,
    style_id       text        NOT NULL,
    arm            text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (generation_id, portrait_index, kind)
);
CREATE INDEX portrait_feedback_user ON portrait_feedback (client_id, user_id);
CREATE INDEX portrait_feedback_client ON portrait_feedback (client_id, style_id);
