-- funnel schema v1: the whole sales data model.
-- Money is integer cents; dates are ISO 8601 text (YYYY-MM-DD), timestamps RFC 3339.

CREATE TABLE funnel_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE teams (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    parent_id INTEGER REFERENCES teams(id) ON DELETE RESTRICT,
    CHECK (parent_id IS NULL OR parent_id <> id)
) STRICT;

CREATE TABLE reps (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    email    TEXT,
    team_id  INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    capacity REAL NOT NULL DEFAULT 1.0 CHECK (capacity >= 0),
    hired_on TEXT,
    active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
) STRICT;
CREATE INDEX reps_team ON reps(team_id);

CREATE TABLE customers (
    id                 INTEGER PRIMARY KEY,
    external_id        TEXT UNIQUE,
    name               TEXT NOT NULL CHECK (length(trim(name)) > 0),
    owner_rep_id       INTEGER REFERENCES reps(id) ON DELETE SET NULL,
    industry           TEXT,
    segment            TEXT CHECK (segment IN ('smb', 'mid_market', 'enterprise')),
    region             TEXT,
    city               TEXT,
    country            TEXT,
    email              TEXT,
    phone              TEXT,
    status             TEXT NOT NULL DEFAULT 'prospect'
                       CHECK (status IN ('prospect', 'active', 'churned')),
    contact_every_days INTEGER CHECK (contact_every_days IS NULL OR contact_every_days > 0),
    created_on         TEXT NOT NULL CHECK (date(created_on) IS created_on)
) STRICT;
CREATE INDEX customers_name ON customers(name COLLATE NOCASE, id);
CREATE INDEX customers_owner ON customers(owner_rep_id, id);
CREATE INDEX customers_segment ON customers(segment, id);
CREATE INDEX customers_region ON customers(region, id);
CREATE INDEX customers_status ON customers(status, id);

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    external_id TEXT UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (length(trim(name)) > 0),
    title       TEXT,
    email       TEXT,
    phone       TEXT,
    is_primary  INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1))
) STRICT;
CREATE INDEX contacts_customer ON contacts(customer_id);

CREATE TABLE products (
    id               INTEGER PRIMARY KEY,
    sku              TEXT NOT NULL UNIQUE CHECK (length(trim(sku)) > 0),
    name             TEXT NOT NULL,
    family           TEXT,
    list_price_cents INTEGER NOT NULL DEFAULT 0 CHECK (list_price_cents >= 0)
) STRICT;

CREATE TABLE stages (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(name)) > 0),
    position          INTEGER NOT NULL,
    probability       REAL NOT NULL CHECK (probability BETWEEN 0 AND 1),
    kind              TEXT NOT NULL CHECK (kind IN ('open', 'won', 'lost')),
    forecast_category TEXT NOT NULL
                      CHECK (forecast_category IN ('pipeline', 'best_case', 'commit', 'closed', 'omitted')),
    CHECK (kind <> 'won' OR probability = 1),
    CHECK (kind <> 'lost' OR probability = 0)
) STRICT;

CREATE TABLE deals (
    id               INTEGER PRIMARY KEY,
    external_id      TEXT UNIQUE,
    name             TEXT NOT NULL CHECK (length(trim(name)) > 0),
    customer_id      INTEGER NOT NULL REFERENCES customers(id) ON DELETE RESTRICT,
    owner_rep_id     INTEGER REFERENCES reps(id) ON DELETE SET NULL,
    product_id       INTEGER REFERENCES products(id) ON DELETE SET NULL,
    amount_cents     INTEGER NOT NULL CHECK (amount_cents >= 0),
    stage_id         INTEGER NOT NULL REFERENCES stages(id) ON DELETE RESTRICT,
    created_on       TEXT NOT NULL CHECK (date(created_on) IS created_on),
    stage_entered_on TEXT NOT NULL CHECK (date(stage_entered_on) IS stage_entered_on),
    expected_close   TEXT CHECK (expected_close IS NULL OR date(expected_close) IS expected_close),
    closed_on        TEXT CHECK (closed_on IS NULL OR date(closed_on) IS closed_on),
    source           TEXT,
    lost_reason      TEXT,
    discount_pct     REAL NOT NULL DEFAULT 0 CHECK (discount_pct BETWEEN 0 AND 100)
) STRICT;
-- Covering index: the funnel by stage reads only this index.
CREATE INDEX deals_stage ON deals(stage_id, amount_cents);
CREATE INDEX deals_customer ON deals(customer_id);
CREATE INDEX deals_owner ON deals(owner_rep_id, stage_id);
CREATE INDEX deals_expected_close ON deals(expected_close);
-- Covering: deals closed in a period, by stage, with their value.
CREATE INDEX deals_closed ON deals(closed_on, stage_id, amount_cents);

CREATE TABLE stage_changes (
    id            INTEGER PRIMARY KEY,
    deal_id       INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
    from_stage_id INTEGER REFERENCES stages(id) ON DELETE RESTRICT,
    to_stage_id   INTEGER NOT NULL REFERENCES stages(id) ON DELETE RESTRICT,
    changed_on    TEXT NOT NULL CHECK (date(changed_on) IS changed_on)
) STRICT;
CREATE INDEX stage_changes_deal ON stage_changes(deal_id, changed_on);
-- Covering: entries into each stage over a period.
CREATE INDEX stage_changes_when ON stage_changes(changed_on, to_stage_id);

CREATE TABLE activities (
    id          INTEGER PRIMARY KEY,
    external_id TEXT UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    deal_id     INTEGER REFERENCES deals(id) ON DELETE SET NULL,
    rep_id      INTEGER REFERENCES reps(id) ON DELETE SET NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('call', 'visit', 'email', 'meeting', 'note')),
    subject     TEXT,
    due_on      TEXT CHECK (due_on IS NULL OR date(due_on) IS due_on),
    done_on     TEXT CHECK (done_on IS NULL OR date(done_on) IS done_on),
    outcome     TEXT,
    CHECK (due_on IS NOT NULL OR done_on IS NOT NULL)
) STRICT;
CREATE INDEX activities_customer ON activities(customer_id, done_on);
CREATE INDEX activities_deal ON activities(deal_id, done_on);
CREATE INDEX activities_rep ON activities(rep_id, done_on);
CREATE INDEX activities_due ON activities(due_on) WHERE done_on IS NULL;

-- The revenue ledger: won deals and repeat purchases. Refunds are negative.
CREATE TABLE orders (
    id           INTEGER PRIMARY KEY,
    external_id  TEXT UNIQUE,
    customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE RESTRICT,
    deal_id      INTEGER UNIQUE REFERENCES deals(id) ON DELETE SET NULL,
    product_id   INTEGER REFERENCES products(id) ON DELETE SET NULL,
    ordered_on   TEXT NOT NULL CHECK (date(ordered_on) IS ordered_on),
    amount_cents INTEGER NOT NULL,
    quantity     INTEGER NOT NULL DEFAULT 1 CHECK (quantity > 0)
) STRICT;
CREATE INDEX orders_date ON orders(ordered_on);
CREATE INDEX orders_customer ON orders(customer_id, ordered_on);
CREATE INDEX orders_product ON orders(product_id, ordered_on);

CREATE TABLE targets (
    id        INTEGER PRIMARY KEY,
    scope     TEXT NOT NULL CHECK (scope IN ('company', 'team', 'rep')),
    team_id   INTEGER REFERENCES teams(id) ON DELETE CASCADE,
    rep_id    INTEGER REFERENCES reps(id) ON DELETE CASCADE,
    -- 'company', 'team:ID' or 'rep:ID': one target per scope, period and metric.
    scope_key TEXT NOT NULL,
    period    TEXT NOT NULL,
    metric    TEXT NOT NULL CHECK (metric IN ('won_revenue', 'won_deals', 'activities', 'new_customers')),
    value     INTEGER NOT NULL CHECK (value >= 0),
    CHECK ((scope = 'company' AND team_id IS NULL AND rep_id IS NULL)
        OR (scope = 'team' AND team_id IS NOT NULL AND rep_id IS NULL)
        OR (scope = 'rep' AND rep_id IS NOT NULL AND team_id IS NULL)),
    UNIQUE (scope_key, period, metric)
) STRICT;
CREATE INDEX targets_period ON targets(period, metric);

CREATE TABLE target_revisions (
    id         INTEGER PRIMARY KEY,
    target_id  INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
    old_value  INTEGER,
    new_value  INTEGER NOT NULL,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    reason     TEXT NOT NULL
) STRICT;
CREATE INDEX target_revisions_target ON target_revisions(target_id, id);

CREATE TABLE forecast_runs (
    id          INTEGER PRIMARY KEY,
    created_at  TEXT NOT NULL,
    level       TEXT NOT NULL,
    period_kind TEXT NOT NULL CHECK (period_kind IN ('month', 'quarter')),
    horizon     INTEGER NOT NULL CHECK (horizon > 0),
    last_actual TEXT NOT NULL,
    note        TEXT
) STRICT;

CREATE TABLE forecast_points (
    run_id        INTEGER NOT NULL REFERENCES forecast_runs(id) ON DELETE CASCADE,
    series_key    TEXT NOT NULL,
    period        TEXT NOT NULL,
    forecast      REAL NOT NULL,
    lo            REAL NOT NULL,
    hi            REAL NOT NULL,
    model         TEXT NOT NULL,
    backtest_mase REAL,
    PRIMARY KEY (run_id, series_key, period)
) STRICT;

-- The actuals a run was fitted on, so a chart shows history and forecast from one run.
CREATE TABLE forecast_history (
    run_id     INTEGER NOT NULL REFERENCES forecast_runs(id) ON DELETE CASCADE,
    series_key TEXT NOT NULL,
    period     TEXT NOT NULL,
    value      REAL NOT NULL,
    PRIMARY KEY (run_id, series_key, period)
) STRICT;

CREATE TABLE model_runs (
    id           INTEGER PRIMARY KEY,
    created_at   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    params_json  TEXT NOT NULL,
    metrics_json TEXT NOT NULL
) STRICT;

-- The latest win probability of each open deal and the model run that made it.
CREATE TABLE deal_scores (
    deal_id      INTEGER PRIMARY KEY REFERENCES deals(id) ON DELETE CASCADE,
    model_run_id INTEGER NOT NULL REFERENCES model_runs(id) ON DELETE CASCADE,
    probability  REAL NOT NULL CHECK (probability BETWEEN 0 AND 1),
    computed_at  TEXT NOT NULL
) STRICT;

CREATE TABLE import_batches (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    file        TEXT NOT NULL,
    vendor      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    os_user     TEXT NOT NULL,
    inserted    INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    reverted_at TEXT
) STRICT;

-- Every write through the app layer: who, when, what, before and after (JSON objects of
-- the row's columns). Entries written by an import carry its batch id; reverting a batch
-- replays them backwards. The rows an import inserts into one table get one entry with
-- the id range entity_id..entity_id_last (the rows themselves are the after image; any
-- later change to them has its own entry with before and after).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    os_user     TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    entity      TEXT NOT NULL,
    entity_id   INTEGER NOT NULL,
    entity_id_last INTEGER CHECK (entity_id_last IS NULL OR entity_id_last >= entity_id),
    before_json TEXT,
    after_json  TEXT,
    batch_id    INTEGER REFERENCES import_batches(id) ON DELETE SET NULL,
    note        TEXT
) STRICT;
CREATE INDEX audit_entity ON audit_log(entity, entity_id, id);
CREATE INDEX audit_batch ON audit_log(batch_id, id) WHERE batch_id IS NOT NULL;
