CREATE TABLE authors (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'author' CHECK (role IN ('admin', 'author')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
CREATE TABLE posts (
    id              BIGSERIAL PRIMARY KEY,
    author_id       BIGINT NOT NULL REFERENCES authors (id) ON DELETE RESTRICT,
    slug            TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    html            TEXT NOT NULL,
    text            TEXT NOT NULL,
    excerpt         TEXT NOT NULL,
    reading_minutes INTEGER NOT NULL DEFAULT 1,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    published_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Title words rank above body words.
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', text), 'B')
    ) STORED
);
--bun:split
CREATE INDEX posts_published_idx ON posts (published_at DESC) WHERE status = 'published';
--bun:split
CREATE INDEX posts_search_idx ON posts USING GIN (search);
--bun:split
CREATE TABLE tags (
    id   BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE
);
--bun:split
CREATE TABLE post_tags (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id  BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
);
--bun:split
CREATE INDEX post_tags_tag_idx ON post_tags (tag_id);
--bun:split
CREATE TABLE comments (
    id         BIGSERIAL PRIMARY KEY,
    post_id    BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    website    TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
CREATE INDEX comments_post_idx ON comments (post_id, created_at);
--bun:split
CREATE INDEX comments_pending_idx ON comments (created_at) WHERE status = 'pending';
--bun:split
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    author_id  BIGINT NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
