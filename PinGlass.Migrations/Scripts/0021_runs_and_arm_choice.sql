-- A generation runs again when a portrait is retried on request: its runs are counted, so each run's end is its own client webhook
-- milestone (ended, ended-2, …).
ALTER TABLE generation_jobs ADD COLUMN runs integer NOT NULL DEFAULT 1;

-- How an experiment assigns arms: split (a user's arm fixed by a hash over the weights) or preference (each generation's arm chosen
-- from what its user and everyone said of the arms' portraits, exploration bounded).
ALTER TABLE experiments ADD COLUMN assignment text NOT NULL DEFAULT 'split' CHECK (assignment IN ('split', 'preference'));

-- When the sweep last queued a delivery whose job was lost: it queues it again only after another grace, not on every pass. And the
-- attempt that holds a delivery: its outcome is recorded only while it still does (a replay starts the attempts' count again, so the
-- count cannot say it).
ALTER TABLE client_webhooks ADD COLUMN swept_at timestamptz, ADD COLUMN lease_id uuid;
