-- Customer segments (funnel segments): every run is kept with its profiles and each
-- customer's segment, so that a customer's history shows movement between segments.
-- Derived data: recomputed from the order ledger, not audited, not exported.
CREATE TABLE segment_runs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at         TEXT NOT NULL,
    as_of              TEXT NOT NULL,
    k                  INTEGER NOT NULL,
    silhouette         REAL NOT NULL,
    adjusted_rand_min  REAL
) STRICT;

CREATE TABLE segment_profiles (
    run_id          INTEGER NOT NULL REFERENCES segment_runs(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    customers       INTEGER NOT NULL,
    revenue_cents   INTEGER NOT NULL,
    recency_days    REAL NOT NULL,
    frequency       REAL NOT NULL,
    monetary_cents  REAL NOT NULL,
    tenure_days     REAL NOT NULL,
    breadth         REAL NOT NULL,
    PRIMARY KEY (run_id, position)
) STRICT;

CREATE TABLE segment_members (
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    run_id       INTEGER NOT NULL REFERENCES segment_runs(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    PRIMARY KEY (customer_id, run_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX segment_members_run ON segment_members(run_id, position);
