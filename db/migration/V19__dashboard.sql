-- The dashboard: who acted on a job, what each instance can run, per-minute counts for the charts, and the indexes
-- the jobs list needs to stay fast with a million finished jobs.

-- Who made an operator action (cancel, retry, bulk): the role and which token or session, e.g.
-- 'operator token 3f2a9c1e' (a short fingerprint, never the token) or 'operator session 9b1d04aa'. NULL: the service.
ALTER TABLE job_events ADD COLUMN actor text;

-- Written by each heartbeat: every kind the instance has a handler for, and those whose handler cannot run now (its
-- Docker engine is away). NULL: an instance of an older version, which says nothing.
ALTER TABLE workers ADD COLUMN kinds text[];
ALTER TABLE workers ADD COLUMN unready_kinds text[];

-- One row a minute for the overview's charts, kept by one instance at a time (an advisory lock) from statements over
-- the last minutes, so the charts never scan jobs. Kept 7 days.
CREATE TABLE job_minutes (
    minute    timestamptz PRIMARY KEY,
    enqueued  integer NOT NULL DEFAULT 0,
    succeeded integer NOT NULL DEFAULT 0,
    failed    integer NOT NULL DEFAULT 0,
    cancelled integer NOT NULL DEFAULT 0,
    -- Queue depth sampled during the minute (NULL: no sample, e.g. every instance was down).
    pending   integer,
    running   integer
);

-- The highest job id already counted as enqueued: later ids are counted by their created_at minute.
CREATE TABLE job_minutes_watermark (
    single      boolean PRIMARY KEY DEFAULT true CHECK (single),
    last_job_id bigint      NOT NULL,
    rolled_at   timestamptz NOT NULL
);

-- The jobs list filtered by a finished status walks this newest first, however rare the status is.
CREATE INDEX jobs_finished_by_status ON jobs (status, id) WHERE status IN ('SUCCEEDED', 'FAILED', 'CANCELLED');
-- The jobs list filtered by installation (tenant 'installation:N').
CREATE INDEX jobs_by_tenant ON jobs (tenant, id) WHERE tenant IS NOT NULL;
