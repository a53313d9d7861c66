-- Daily cost totals per model and prediction status, rolled up from the per-prediction ledger by the recurring roll-up-costs job,
-- so totals outlive the predictions themselves (retention and erase on request remove those).
CREATE TABLE cost_daily (
    day          date           NOT NULL,
    model        text           NOT NULL,
    status       text           NOT NULL,
    total_cost   numeric(14, 6) NOT NULL,
    predictions  int            NOT NULL,
    images       int            NOT NULL,
    rolled_up_at timestamptz    NOT NULL DEFAULT now(),
    PRIMARY KEY (day, model, status)
);
