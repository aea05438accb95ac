-- The dashboard shows the forecast `recompute` (or `R` in the TUI) made, for the day it was
-- made for: an ad-hoc `funnel forecast` (another breakdown, `--today` in the past) is kept
-- as a run of its own and no longer replaces it. Runs from before this column were all read
-- by the dashboard when they were at its level.
ALTER TABLE forecast_runs ADD COLUMN for_dashboard INTEGER NOT NULL DEFAULT 0 CHECK (for_dashboard IN (0, 1));
ALTER TABLE forecast_runs ADD COLUMN as_of TEXT;
UPDATE forecast_runs SET for_dashboard = (level = 'team'), as_of = substr(created_at, 1, 10);
