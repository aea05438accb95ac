-- Customer intelligence, as of the last recompute (funnel recompute, R): each customer's
-- RFM segment, value tier, P(alive) and churn risk, predicted purchases and value over the
-- next year, lifetime revenue, predicted need with its rule, and the products to offer
-- next with their reasons. One row per customer — a trigger adds it when the customer is
-- created, NULL until a recompute values it — so that the customer list sorts and filters
-- on these through indexes (keyset paging, as by name). Derived data: recomputed from the
-- ledger, not audited, not exported.
CREATE TABLE customer_intel (
    customer_id            INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    as_of                  TEXT,
    segment                TEXT,
    tier                   TEXT,
    p_alive                REAL,
    churn_risk             REAL,
    expected_purchases     REAL,
    predicted_value_cents  INTEGER,
    lifetime_cents         INTEGER,
    need_family            TEXT,
    need_share             REAL,
    need_rule              TEXT,
    -- JSON: [{"product": …, "reason": …}, …], best first.
    offers                 TEXT
) STRICT;

CREATE INDEX customer_intel_predicted ON customer_intel(coalesce(predicted_value_cents, -1), customer_id);
CREATE INDEX customer_intel_lifetime ON customer_intel(coalesce(lifetime_cents, -1), customer_id);
CREATE INDEX customer_intel_churn ON customer_intel(coalesce(churn_risk, -1.0), customer_id);

INSERT INTO customer_intel(customer_id) SELECT id FROM customers;

CREATE TRIGGER customer_intel_row AFTER INSERT ON customers
BEGIN
    INSERT INTO customer_intel(customer_id) VALUES (new.id);
END;

-- Each recompute of the above: when, as of which day, what it valued and what it could not.
CREATE TABLE intel_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      TEXT NOT NULL,
    as_of           TEXT NOT NULL,
    segment_run_id  INTEGER REFERENCES segment_runs(id) ON DELETE SET NULL,
    customers       INTEGER NOT NULL,
    valued          INTEGER NOT NULL,
    notes           TEXT NOT NULL
) STRICT;
