-- Expand only: the previous release neither reads nor writes these.
-- Old addresses of imported posts (a Django get_absolute_url, a WordPress
-- permalink, a Ghost /slug/): a GET of old_path answers a 301 to the
-- post's current URL. Keyed by the whole path, unlike post_redirects,
-- which keeps old slugs under /posts/.
CREATE TABLE redirects (
    old_path   TEXT PRIMARY KEY,
    post_id    INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
--bun:split
CREATE INDEX redirects_post_idx ON redirects (post_id);
--bun:split
-- What each import brought in, by source and original id, so that running
-- the same import again recognises every record and changes nothing.
CREATE TABLE imported_records (
    source    TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('author', 'post', 'comment')),
    source_id TEXT NOT NULL,
    local_id  INTEGER NOT NULL,
    PRIMARY KEY (source, kind, source_id)
);
