-- Quotas: a client's own limits where an operator set them (NULL: the Quotas section's defaults), and what their checks read.
ALTER TABLE clients
    ADD COLUMN requests_per_minute  integer CHECK (requests_per_minute BETWEEN 1 AND 1000000),
    ADD COLUMN generations_per_user integer CHECK (generations_per_user BETWEEN 1 AND 10000),
    ADD COLUMN daily_spend_cap_usd  numeric(12, 4) CHECK (daily_spend_cap_usd BETWEEN 0 AND 10000000);

-- When a generation last started running: its creation, or the retry on request that ran it again. Its spend counts against that
-- UTC day's cap.
ALTER TABLE generation_jobs ADD COLUMN opened_at timestamptz;
UPDATE generation_jobs SET opened_at = created_at;
ALTER TABLE generation_jobs ALTER COLUMN opened_at SET NOT NULL, ALTER COLUMN opened_at SET DEFAULT now();

CREATE INDEX generation_jobs_client_unfinished ON generation_jobs (client_id) WHERE completed_at IS NULL;
CREATE INDEX generation_jobs_client_opened ON generation_jobs (client_id, opened_at);
