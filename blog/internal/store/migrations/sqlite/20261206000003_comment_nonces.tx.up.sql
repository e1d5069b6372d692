-- Expand only. The nonce of every comment form used to send a comment, kept
-- until the form would have expired anyway, so that no form is sent twice.
CREATE TABLE comment_nonces (
    nonce      TEXT PRIMARY KEY,
    expires_at TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX comment_nonces_expires_idx ON comment_nonces (expires_at);
