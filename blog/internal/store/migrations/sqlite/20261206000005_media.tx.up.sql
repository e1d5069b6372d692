-- Expand only: the previous release neither reads nor writes these.
-- An author's uploaded pictures. The files themselves live in the media
-- bucket (BLOG_MEDIA_URL) under names made of hash and size; a row says
-- whose they are and what the picture shows (alt, required).
CREATE TABLE media (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id  INTEGER NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    ext        TEXT NOT NULL CHECK (ext IN ('jpg', 'png')),
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    files      TEXT NOT NULL,
    bytes      BIGINT NOT NULL,
    alt        TEXT NOT NULL,
    filename   TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (author_id, hash)
);
--bun:split
CREATE INDEX media_hash_idx ON media (hash);
--bun:split
-- A post's optional cover picture: the name of its widest file, or ''.
ALTER TABLE posts ADD COLUMN cover TEXT NOT NULL DEFAULT '';
