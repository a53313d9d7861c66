-- One spelling in the schema and the API: "cancelled". Replicate's "canceled" is read into it by the pipeline.
ALTER TABLE predictions DROP CONSTRAINT predictions_status_check;
UPDATE predictions SET status = 'cancelled' WHERE status = 'canceled';
ALTER TABLE predictions ADD CONSTRAINT predictions_status_check
    CHECK (status IN ('creating', 'not_created', 'starting', 'processing', 'succeeded', 'failed', 'cancelled', 'aborted'));
UPDATE cost_daily SET status = 'cancelled' WHERE status = 'canceled';
