-- One worker at a time takes in a prediction's end (copies its output, asks the identity gate): a webhook and a poll that arrive
-- together no longer do that work twice. A lease, so a worker killed half-way leaves the prediction to the next one after it expires.
ALTER TABLE predictions ADD COLUMN take_in_until timestamptz;
