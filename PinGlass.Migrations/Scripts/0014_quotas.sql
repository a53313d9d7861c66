-- Quotas: a client's own limits where an operator set them (NULL: the Quotas section's defaults), and the indexes their checks use:
-- a user's generations that have not ended, and a client's generations of one day.
ALTER TABLE clients
    ADD COLUMN requests_per_minute  integer CHECK (requests_per_minute > 0),
    ADD COLUMN generations_per_user integer CHECK (generations_per_user > 0),
    ADD COLUMN daily_spend_cap_usd  numeric(12, 4) CHECK (daily_spend_cap_usd >= 0);

CREATE INDEX generation_jobs_user_unfinished ON generation_jobs (client_id, user_id) WHERE completed_at IS NULL;
CREATE INDEX generation_jobs_client_day ON generation_jobs (client_id, created_at);
