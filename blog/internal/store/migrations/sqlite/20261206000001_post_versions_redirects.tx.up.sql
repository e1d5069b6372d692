-- Expand only: the previous release neither reads nor writes these, and
-- keeps working while the new one starts.
-- version counts a post's saves, so that an edit made on a stale form is
-- refused instead of overwriting the newer text.
ALTER TABLE posts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
--bun:split
-- The old slugs of published posts whose slug changed: /posts/<old> answers
-- a 301 to the post's current URL.
CREATE TABLE post_redirects (
    old_slug   TEXT PRIMARY KEY,
    post_id    INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
--bun:split
CREATE INDEX post_redirects_post_idx ON post_redirects (post_id);
