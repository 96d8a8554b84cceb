-- The search rounds of a bisect job, written as they start, so the job's page shows the range narrowing while the
-- job runs: how many commits may still be the first bad one, the commits the round tests, and the runs going on now.
-- Round 0 holds the runs before the search (the ends, the merge bases). Written under the job's fence; a later
-- attempt of the same job rewrites its rounds as it replays them.
CREATE TABLE bisect_rounds (
    job_id       bigint      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    round        integer     NOT NULL CHECK (round >= 0),
    -- NULL for round 0.
    commits_left integer,
    rounds_to_go integer,
    attempt      integer     NOT NULL,
    started_at   timestamptz NOT NULL,
    -- Commits whose runs started in this round, in the order they started.
    tested       text[]      NOT NULL DEFAULT '{}',
    -- Runs started and not ended: 'purpose:sha:run index'.
    running      text[]      NOT NULL DEFAULT '{}',
    PRIMARY KEY (job_id, round)
);

-- The jobs list's repo:owner/name search (dashboard JobSearch.REPO_KEY, the same expression): the thread's repository,
-- else the last two path segments of the clone URL. A page walks this newest first and stops after its rows, however
-- rare the repository; without it, a repository with few jobs scanned the whole table (2 s at 1,000,000 jobs).
CREATE INDEX jobs_by_repo ON jobs ((lower(coalesce((payload -> 'github' ->> 'owner') || '/' || (payload -> 'github' ->> 'repo'),
    substring(regexp_replace(payload ->> 'repo', '(\.git)?/*$', '') from '[^/:]+/[^/:]+$')))), id);
