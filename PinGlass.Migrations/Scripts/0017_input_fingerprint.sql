-- What a create's input was, as InputFingerprint makes it: a lost create is found among Replicate's listed predictions by its model and
-- input (documented fields; the webhook URL that carried the attempt's marker is not), and a create whose sender died is searched for
-- by it after the generation's reference photos are gone. Written before the first send; null means nothing was ever sent.
ALTER TABLE predictions ADD COLUMN input_fingerprint text;
