-- Expand only: the previous release neither reads nor writes these columns.
-- A disabled author cannot sign in and has no sessions; their posts stay.
ALTER TABLE authors ADD COLUMN disabled_at TIMESTAMPTZ;
--bun:split
-- When a session was last used, for the idle timeout (NULL: not since
-- this release; its creation time counts), and what it was opened from,
-- so that an author can recognise and end their other sessions.
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ;
--bun:split
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
--bun:split
CREATE INDEX sessions_author_idx ON sessions (author_id);
