-- Ids are never reused (AUTOINCREMENT, as for the user-data tables): plan and alert
-- numbers are shown to users.
-- Saved visit plans (funnel plan --save), to be compared later with the contacts logged
-- (funnel plan review): who, when, how it was drawn, and each planned contact with the
-- priority it had.
CREATE TABLE plans (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    rep_id    INTEGER NOT NULL REFERENCES reps(id) ON DELETE CASCADE,
    made_on   TEXT NOT NULL CHECK (date(made_on) IS made_on),
    saved_at  TEXT NOT NULL,
    saved_by  TEXT NOT NULL,
    method    TEXT NOT NULL,
    first_day TEXT NOT NULL CHECK (date(first_day) IS first_day),
    last_day  TEXT NOT NULL CHECK (date(last_day) IS last_day)
) STRICT;
CREATE INDEX plans_rep ON plans(rep_id, id);

CREATE TABLE plan_visits (
    plan_id     INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    day         TEXT NOT NULL CHECK (date(day) IS day),
    score       REAL NOT NULL,
    probability REAL NOT NULL,
    reasons     TEXT NOT NULL,
    PRIMARY KEY (plan_id, customer_id)
) STRICT, WITHOUT ROWID;

-- Automation rules (rules.toml): each run of each rule, and what each condition made.
-- `key` names the condition's instance (a deal in a stage since a day, a customer's
-- contact due on a day, …): one action per rule and key, ever, so running the rules
-- twice never makes a second task or alert for the same thing.
CREATE TABLE rule_runs (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    rule    TEXT NOT NULL,
    ran_at  TEXT NOT NULL,
    as_of   TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    acted   INTEGER NOT NULL,
    summary TEXT NOT NULL
) STRICT;
CREATE INDEX rule_runs_rule ON rule_runs(rule, id);

CREATE TABLE rule_actions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    rule         TEXT NOT NULL,
    key          TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('task', 'alert', 'reassign')),
    activity_id  INTEGER REFERENCES activities(id) ON DELETE SET NULL,
    customer_id  INTEGER REFERENCES customers(id) ON DELETE CASCADE,
    deal_id      INTEGER REFERENCES deals(id) ON DELETE CASCADE,
    rep_id       INTEGER REFERENCES reps(id) ON DELETE SET NULL,
    message      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    dismissed_at TEXT,
    UNIQUE (rule, key)
) STRICT;
CREATE INDEX rule_actions_open_alerts ON rule_actions(id) WHERE action = 'alert' AND dismissed_at IS NULL;

-- What a "deal slipped" rule last saw of each big open deal (its expected close and
-- amount), to notice a close date moved later or an amount cut since.
CREATE TABLE rule_marks (
    rule           TEXT NOT NULL,
    deal_id        INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
    expected_close TEXT,
    amount_cents   INTEGER NOT NULL,
    PRIMARY KEY (rule, deal_id)
) STRICT, WITHOUT ROWID;
