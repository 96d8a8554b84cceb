-- Output of job steps, stored in ordered chunks so a running step can be followed (seq > last seen).
-- Chunks are already capped (head + tail) and have secrets masked by the executor.

CREATE TABLE step_logs (
    job_id  bigint      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    step    text        NOT NULL,
    seq     integer     NOT NULL CHECK (seq >= 0),
    -- A retried step appends after the earlier attempt's chunks; this tells them apart.
    attempt integer     NOT NULL,
    stream  text        NOT NULL CHECK (stream IN ('STDOUT', 'STDERR', 'SYSTEM')),
    content text        NOT NULL,
    at      timestamptz NOT NULL,
    PRIMARY KEY (job_id, step, seq)
);
