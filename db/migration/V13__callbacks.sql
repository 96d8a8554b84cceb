-- Signed job callbacks: who wants to hear about a job, the events owed to them (an outbox), and every attempt.

CREATE TABLE job_callbacks (
    job_id   bigint  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position integer NOT NULL,
    url      text    NOT NULL,
    events   text[]  NOT NULL,
    PRIMARY KEY (job_id, position)
);

CREATE TABLE callback_events (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- What receivers deduplicate by: the same for every attempt and every replay of this event.
    event_id         uuid        NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    job_id           bigint      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    url              text        NOT NULL,
    type             text        NOT NULL,
    -- Extra fields of the event (progress), merged into the body; finished jobs' bodies are built from the job.
    detail           jsonb,
    status           text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE', 'DEAD')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_owner      text,
    lease_until      timestamptz,
    first_failure_at timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL,
    done_at          timestamptz
);
CREATE INDEX callback_events_due ON callback_events (next_attempt_at, id) WHERE status = 'PENDING';
-- Per-URL ordering: an event waits while an earlier one for the same job and URL is pending.
CREATE INDEX callback_events_pending_by_target ON callback_events (job_id, url, id) WHERE status = 'PENDING';
CREATE INDEX callback_events_by_job ON callback_events (job_id, id);
CREATE INDEX callback_events_dead ON callback_events (done_at) WHERE status = 'DEAD';

CREATE TABLE callback_attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_row   bigint      NOT NULL REFERENCES callback_events (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    status_code integer,
    error       text,
    duration_ms integer     NOT NULL
);
CREATE INDEX callback_attempts_by_event ON callback_attempts (event_row, id);

-- A job's final transition writes its events in the same transaction, whichever statement made it (a worker's
-- completion batch, recovery, a cancel): an event is never lost between a job ending and its callback being owed.
CREATE FUNCTION job_callbacks_on_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO callback_events (job_id, url, type, next_attempt_at, created_at)
    SELECT NEW.id, c.url, lower(NEW.status), now(), now()
      FROM job_callbacks c
     WHERE c.job_id = NEW.id AND lower(NEW.status) = ANY (c.events)
     ORDER BY c.position;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_callbacks_on_final
    AFTER UPDATE OF status ON jobs
    FOR EACH ROW
    WHEN (NEW.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION job_callbacks_on_final();
