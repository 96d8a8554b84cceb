-- Every finished test run of a bisect job, written under the job's fence, so a job taken over after a crash
-- resumes from these verdicts and runs none of them again.

CREATE TABLE bisect_steps (
    job_id      bigint      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq         integer     NOT NULL CHECK (seq >= 0),
    commit_sha  text        NOT NULL,
    run_index   integer     NOT NULL CHECK (run_index >= 0),
    purpose     text        NOT NULL CHECK (purpose IN ('VERIFY', 'MERGE_BASE', 'SEARCH', 'CONFIRM')),
    outcome     text        NOT NULL CHECK (outcome IN ('EXITED', 'TIMED_OUT', 'INFRA_ERROR', 'CANCELLED')),
    exit_code   integer,
    message     text,
    -- NULL when the run says nothing about the commit (infrastructure error, cancelled).
    verdict     text        CHECK (verdict IN ('GOOD', 'BAD', 'SKIP')),
    duration_ms bigint      NOT NULL,
    attempt     integer     NOT NULL,
    worker_id   text        NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (job_id, seq)
);
