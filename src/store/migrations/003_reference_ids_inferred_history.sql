-- Teams and reps get external ids, so that an organisation exported from another system
-- re-imports as updates; stage history rows inferred from a deal's dates are marked, so
-- that real history can replace them and the export says which rows were guessed.
ALTER TABLE teams ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX teams_external_id ON teams(external_id);
ALTER TABLE reps ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX reps_external_id ON reps(external_id);
ALTER TABLE stage_changes ADD COLUMN inferred INTEGER NOT NULL DEFAULT 0 CHECK (inferred IN (0, 1));
