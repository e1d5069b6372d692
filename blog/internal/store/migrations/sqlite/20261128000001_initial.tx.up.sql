CREATE TABLE authors (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'author' CHECK (role IN ('admin', 'author')),
    created_at    TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
--bun:split
CREATE TABLE posts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id       INTEGER NOT NULL REFERENCES authors (id) ON DELETE RESTRICT,
    slug            TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    html            TEXT NOT NULL,
    text            TEXT NOT NULL,
    excerpt         TEXT NOT NULL,
    reading_minutes INTEGER NOT NULL DEFAULT 1,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    published_at    TIMESTAMP,
    created_at      TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at      TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
--bun:split
CREATE INDEX posts_published_idx ON posts (status, published_at DESC);
--bun:split
-- An external-content FTS5 index over posts, kept current by triggers.
CREATE VIRTUAL TABLE posts_fts USING fts5 (
    title, text, content = 'posts', content_rowid = 'id', tokenize = 'porter unicode61'
);
--bun:split
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END;
--bun:split
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
END;
--bun:split
CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, text ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
    INSERT INTO posts_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END;
--bun:split
CREATE TABLE tags (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE
);
--bun:split
CREATE TABLE post_tags (
    post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id  INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
);
--bun:split
CREATE INDEX post_tags_tag_idx ON post_tags (tag_id);
--bun:split
CREATE TABLE comments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id    INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    website    TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved')),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
--bun:split
CREATE INDEX comments_post_idx ON comments (post_id, created_at);
--bun:split
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    author_id  INTEGER NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
