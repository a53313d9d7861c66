-- Each service instance's last successful write to PostgreSQL, written by its store round-trip health check.
CREATE TABLE service_probes (
    service    text NOT NULL,
    instance   text NOT NULL,
    probed_at  timestamptz NOT NULL,
    PRIMARY KEY (service, instance)
);
