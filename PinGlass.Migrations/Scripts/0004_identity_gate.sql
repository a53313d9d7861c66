-- The identity gate: every delivered portrait's distance to the user's reference centroid, and the regeneration it may get.
ALTER TABLE portraits
    ADD COLUMN regenerations      int NOT NULL DEFAULT 0,
    ADD COLUMN reference_index    int,               -- a regeneration's reference; otherwise the rotation's
    ADD COLUMN id_weight          double precision,  -- a regeneration's id weight; otherwise the style's
    ADD COLUMN identity_distance  real,              -- descriptor distance of the delivered portrait to the centroid
    ADD COLUMN identity_reason    text,              -- same_person, no_face, several_faces, different_person
    ADD COLUMN identity_flagged   boolean NOT NULL DEFAULT false;

-- What a settled prediction delivered and what the gate said of it, so the portrait's next step can be taken (again) from the
-- prediction alone if the worker that settled it stopped before taking it.
ALTER TABLE predictions
    ADD COLUMN blob_name             text,
    ADD COLUMN content_type          text,
    ADD COLUMN identity_decision     text,              -- pass, regenerate, deliver_flagged; null when not checked
    ADD COLUMN identity_reason       text,
    ADD COLUMN identity_distance     real,
    ADD COLUMN next_reference_index  int,               -- a regeneration's reference and id weight, as the gate chose them
    ADD COLUMN next_id_weight        double precision;
