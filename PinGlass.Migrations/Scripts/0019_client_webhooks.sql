-- Client webhooks: a generation may name a callback URL; each milestone it reaches (started, a quarter, half and three quarters of its
-- portraits ended, its end) is a delivery row written by the transaction that reached it, once per generation and milestone, so a
-- milestone is never lost to a process killed after its commit nor sent for a change rolled back. Deliveries are signed with the
-- client's own secret (Standard Webhooks), which PinGlass must read to sign with: it is kept as it is, like the Replicate account's.
ALTER TABLE generation_jobs ADD COLUMN callback_url text CHECK (length(callback_url) <= 2000);
ALTER TABLE clients ADD COLUMN webhook_secret text;

CREATE TABLE client_webhooks (
    id              uuid        PRIMARY KEY,
    generation_id   uuid        NOT NULL REFERENCES generation_jobs (id) ON DELETE CASCADE,
    client_id       uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    milestone       text        NOT NULL,
    url             text        NOT NULL,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    leased_until    timestamptz,
    delivered_at    timestamptz,
    dead_at         timestamptz,
    last_status     integer,
    last_error      text,
    UNIQUE (generation_id, milestone)
);

-- What is still to send (the sweeper's scan) and what ops look at (the dead letters).
CREATE INDEX client_webhooks_pending ON client_webhooks (next_attempt_at) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX client_webhooks_dead ON client_webhooks (dead_at) WHERE dead_at IS NOT NULL;
