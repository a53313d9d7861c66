-- A delivered portrait made again on request stays delivered until its replacement succeeds: while it is being made again it keeps its
-- image (blob, provider, identity verdict), which is served as before and delivered again if the new attempts end without one.
ALTER TABLE portraits ADD COLUMN replacing boolean NOT NULL DEFAULT false;
