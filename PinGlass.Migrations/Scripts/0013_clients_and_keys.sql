-- Client applications (the PinGlass apps, partners) and their API keys. A key is stored only as its SHA-256: keys are 256 random
-- bits, so a fast hash is enough to make a stolen table useless, and a request's lookup is one index probe. An operator client
-- sees the company's figures; the others only their own.
CREATE TABLE clients (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    operator   boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY,
    client_id    uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    key_hash     bytea       NOT NULL UNIQUE,
    hint         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

CREATE INDEX api_keys_client ON api_keys (client_id);

-- Whose a generation is: the client that started it and that client's end user. Generations from before keys have neither and are
-- nobody's to read.
ALTER TABLE generation_jobs ADD COLUMN client_id uuid REFERENCES clients (id), ADD COLUMN user_id text;
CREATE INDEX generation_jobs_owner ON generation_jobs (client_id, user_id);
