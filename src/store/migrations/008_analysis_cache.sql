-- Analyses that depend only on the data (the funnel by stage, conversion and time in
-- stage, the Monte Carlo pipeline forecast), kept per data version so that a read command
-- such as `funnel pipeline` does not recompute them over a million deals each time. Never
-- user data: not audited, not exported; a row whose version is not the current one is
-- simply computed again and replaced.
CREATE TABLE analysis_cache (
    name     TEXT PRIMARY KEY,
    version  TEXT NOT NULL,
    body     TEXT NOT NULL
) STRICT;
