-- A time-billed prediction computes no longer than its reservation holds (#13 item 5): when Replicate says it started, and when PinGlass
-- cancelled it for reaching the compute reserved for it (its end is then a passing timeout, not the model's failure).
ALTER TABLE predictions ADD COLUMN started_at timestamptz, ADD COLUMN overran_at timestamptz;
