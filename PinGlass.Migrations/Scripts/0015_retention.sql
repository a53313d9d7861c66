-- Privacy. faces_deleted_at: the generation's faces (its reference crops and centroid, the chosen photos' names and scores) were
-- deleted, a grace period after it ended. erased_at: the whole generation was erased, on request or when its portraits' time ran
-- out; what is left is its cost record, owned by its client and no user. files_pending: blob storage still has to be brought in
-- line with the two; files_deleted_at: for which state it last was.
ALTER TABLE generation_jobs
    ADD COLUMN faces_deleted_at timestamptz,
    ADD COLUMN erased_at        timestamptz,
    ADD COLUMN files_deleted_at timestamptz,
    ADD COLUMN files_pending    boolean NOT NULL DEFAULT false;

CREATE INDEX generation_jobs_faces_due ON generation_jobs (completed_at) WHERE faces_deleted_at IS NULL;
CREATE INDEX generation_jobs_erasure_due ON generation_jobs (completed_at) WHERE erased_at IS NULL;
CREATE INDEX generation_jobs_files_pending ON generation_jobs (id) WHERE files_pending;
