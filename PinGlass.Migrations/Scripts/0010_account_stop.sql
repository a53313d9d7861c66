-- Replicate refusing the account (401: the token; 402: billing) stops the whole generation, not one portrait: every other create
-- would be refused too. The reason is kept with the generation; its portraits end with it.
ALTER TABLE generation_jobs ADD COLUMN stop_category text, ADD COLUMN stop_error text;
