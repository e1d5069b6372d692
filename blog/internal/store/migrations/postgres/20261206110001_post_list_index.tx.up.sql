-- Post lists order by (published_at DESC, id DESC): with id in the index the
-- planner walks it in that order and stops after one page, instead of
-- sorting every published post. The old index had no tie-breaker, so it is
-- replaced (the previous release's queries work with either).
CREATE INDEX posts_published_list_idx ON posts (published_at DESC, id DESC) WHERE status = 'published';
--bun:split
DROP INDEX posts_published_idx;
