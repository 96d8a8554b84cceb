-- Dependency cache volumes (cache: [...] of bisect jobs and bot tasks), so that every instance agrees on their size
-- and on which one was used least recently when the caches must shrink. One row per Docker volume.
CREATE TABLE cache_volumes (
    volume          text        PRIMARY KEY,
    scope_hash      text        NOT NULL,
    repository      text        NOT NULL,
    installation_id bigint      NOT NULL,
    trusted         boolean     NOT NULL,
    path            text        NOT NULL,
    size_bytes      bigint      NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz NOT NULL,
    measured_at     timestamptz
);
CREATE INDEX cache_volumes_scope ON cache_volumes (scope_hash);
CREATE INDEX cache_volumes_last_used ON cache_volumes (last_used_at);

-- Commits with the same tree share verdicts: the tree of the commit a run was made on, to find them by.
ALTER TABLE bisect_verdict_cache ADD COLUMN tree_sha text;
CREATE INDEX bisect_verdict_cache_tree ON bisect_verdict_cache (repository, tree_sha, image_digest, command_hash, repeat_rule, run_index)
    WHERE tree_sha IS NOT NULL;
