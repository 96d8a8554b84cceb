-- The job queue: jobs, the workers that run them, and each job's append-only history.

CREATE TABLE workers (
    id                  text PRIMARY KEY,
    started_at          timestamptz NOT NULL,
    heartbeat_at        timestamptz NOT NULL,
    state               text        NOT NULL CHECK (state IN ('RUNNING', 'DRAINING', 'STOPPED')),
    version             text        NOT NULL,
    max_concurrent_jobs integer     NOT NULL CHECK (max_concurrent_jobs >= 0)
);

CREATE TABLE jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text        NOT NULL,
    payload          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status           text        NOT NULL DEFAULT 'PENDING'
                     CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    -- Lower runs first.
    priority         integer     NOT NULL DEFAULT 0,
    run_at           timestamptz NOT NULL DEFAULT now(),
    -- Incremented by every claim; together with worker_id it fences a worker's writes to its attempt.
    attempt_count    integer     NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    max_attempts     integer     NOT NULL DEFAULT 3 CHECK (max_attempts > 0),
    worker_id        text,
    heartbeat_at     timestamptz,
    claimed_at       timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,
    last_error       text,
    result           jsonb,
    retry_of         bigint REFERENCES jobs (id),
    dedup_key        text,
    cancel_requested boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The claim query walks this index in claim order and never touches finished rows.
CREATE INDEX jobs_claim_order ON jobs (priority, run_at, id) WHERE status = 'PENDING';
-- Heartbeats (by worker) and recovery (by heartbeat age) only look at running jobs.
CREATE INDEX jobs_running_by_worker ON jobs (worker_id) WHERE status = 'RUNNING';
CREATE INDEX jobs_running_by_heartbeat ON jobs (heartbeat_at) WHERE status = 'RUNNING';
CREATE UNIQUE INDEX jobs_dedup_key ON jobs (dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX jobs_retry_of ON jobs (retry_of) WHERE retry_of IS NOT NULL;
CREATE INDEX jobs_finished_at ON jobs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE job_events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id    bigint      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    type      text        NOT NULL,
    worker_id text,
    attempt   integer,
    detail    text
);
CREATE INDEX job_events_by_job ON job_events (job_id, id);

-- Wakes idle workers as soon as jobs are inserted; one notification per statement, so a bulk
-- enqueue costs one. Workers also poll, so a lost notification only delays a claim.
CREATE FUNCTION notify_jobs_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bisectbot_jobs', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_inserted AFTER INSERT ON jobs FOR EACH STATEMENT EXECUTE FUNCTION notify_jobs_inserted();
