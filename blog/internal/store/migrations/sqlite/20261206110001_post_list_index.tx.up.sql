-- Post lists order by (published_at DESC, id DESC): with id in the index
-- SQLite walks it in that order and stops after one page instead of
-- sorting every published post.
CREATE INDEX posts_published_list_idx ON posts (status, published_at DESC, id DESC);
--bun:split
DROP INDEX posts_published_idx;
