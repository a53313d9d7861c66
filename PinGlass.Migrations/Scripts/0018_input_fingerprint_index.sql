-- Creates of the same input still waiting for their prediction (a search must not take another's), looked up by fingerprint.
CREATE INDEX predictions_input_fingerprint_idx ON predictions (input_fingerprint) WHERE prediction_id IS NULL;
