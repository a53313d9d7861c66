-- Privacy. faces_deleted_at: the generation's faces (its reference crops and centroid, the chosen photos' names and scores) were
-- deleted, a grace period after it ended. erased_at: the whole generation was erased, on request or when its portraits' time ran
-- out; what is left is its cost record, owned by its client and no user. files_deleted_at: blob storage was last brought in line
-- with the two; a generation whose files are due has one of them later than it.
ALTER TABLE generation_jobs
    ADD COLUMN faces_deleted_at timestamptz,
    ADD COLUMN erased_at        timestamptz,
    ADD COLUMN files_deleted_at timestamptz;

CREATE INDEX generation_jobs_retention ON generation_jobs (completed_at) WHERE erased_at IS NULL;
CREATE INDEX generation_jobs_files_due ON generation_jobs (id)
    WHERE files_deleted_at IS NULL AND (faces_deleted_at IS NOT NULL OR erased_at IS NOT NULL)
       OR files_deleted_at < greatest(faces_deleted_at, erased_at);
