-- Expand only: the previous release counts in memory and never reads this.
-- Rate limits (failed sign-ins per client and per account, comments per
-- client) count here rather than in each process's memory, so that several
-- app instances behind one load balancer share one count. One row per key
-- and window; the server sweeps expired rows.
CREATE TABLE attempts (
    key        TEXT PRIMARY KEY,
    count      INTEGER NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX attempts_expires_idx ON attempts (expires_at);
