-- Budget reservations: before a prediction is created, its worst-case cost is reserved on the generation; settling it moves the
-- actual cost to spent_usd and releases the reservation. spent + reserved never exceeds the budget when a reservation is taken.
ALTER TABLE generation_jobs
    ADD COLUMN reserved_usd numeric(12, 6) NOT NULL DEFAULT 0 CHECK (reserved_usd >= 0);

ALTER TABLE predictions
    ADD COLUMN reserved_usd numeric(12, 6) NOT NULL DEFAULT 0 CHECK (reserved_usd >= 0);
