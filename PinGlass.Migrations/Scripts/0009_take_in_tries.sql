-- Passing trouble taking in a prediction's end (its output host answering 503, the faces service down) is tried again after a
-- back-off rather than failing the attempt or delivering unchecked: the tries are counted so the waiting has an end.
ALTER TABLE predictions ADD COLUMN take_in_tries integer NOT NULL DEFAULT 0;
