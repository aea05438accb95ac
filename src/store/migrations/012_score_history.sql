-- Every open deal's learned win probability at each scoring run, kept whether or not the
-- run's scores were used (deal_scores keeps only the latest used ones): `funnel score
-- accuracy` checks each run against what happened to those deals since.
CREATE TABLE deal_score_history (
    model_run_id INTEGER NOT NULL REFERENCES model_runs(id) ON DELETE CASCADE,
    deal_id      INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
    probability  REAL NOT NULL CHECK (probability BETWEEN 0 AND 1),
    PRIMARY KEY (model_run_id, deal_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX deal_score_history_deal ON deal_score_history(deal_id);
