-- Every change a follower of a generation is sent, written by the transaction that made it. A follower reads what Redis did not bring
-- in order (a publish overtaken by a newer one, lost, or never sent by a worker killed after its commit), and a reconnecting one what
-- it missed, so no portrait's change is skipped. Kept while anyone may still follow: deleted with the generation's faces or its erasure.
CREATE TABLE progress_log (
    generation_id uuid   NOT NULL REFERENCES generation_jobs (id) ON DELETE CASCADE,
    version       bigint NOT NULL,
    progress      jsonb  NOT NULL,
    PRIMARY KEY (generation_id, version)
);
