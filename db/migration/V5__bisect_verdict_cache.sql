-- Results of test runs that later bisect jobs may reuse when they ask for it (verdict_cache: true). A run's exit
-- code depends only on the commit, the image (by digest) and the command, so those, with the repeat rule and the
-- run's index, are the key.

CREATE TABLE bisect_verdict_cache (
    repository   text        NOT NULL,
    commit_sha   text        NOT NULL,
    image_digest text        NOT NULL,
    command_hash text        NOT NULL,
    repeat_rule  text        NOT NULL,
    run_index    integer     NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('EXITED', 'TIMED_OUT')),
    exit_code    integer,
    duration_ms  bigint      NOT NULL,
    job_id       bigint,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (repository, commit_sha, image_digest, command_hash, repeat_rule, run_index)
);
CREATE INDEX bisect_verdict_cache_recorded_at ON bisect_verdict_cache (recorded_at);
