-- The identity gate: every delivered portrait's distance to the user's reference centroid, and the regeneration it may get.
ALTER TABLE portraits
    ADD COLUMN regenerations      int NOT NULL DEFAULT 0,
    ADD COLUMN reference_index    int,        -- a regeneration's reference; otherwise the rotation's
    ADD COLUMN id_weight          real,       -- a regeneration's id weight; otherwise the style's
    ADD COLUMN identity_distance  real,       -- descriptor distance of the delivered portrait to the centroid
    ADD COLUMN identity_reason    text,       -- same_person, no_face, several_faces, different_person
    ADD COLUMN identity_flagged   boolean NOT NULL DEFAULT false;

ALTER TABLE predictions
    ADD COLUMN identity_decision  text,       -- pass, regenerate, deliver_flagged; null when not checked
    ADD COLUMN identity_distance  real;
