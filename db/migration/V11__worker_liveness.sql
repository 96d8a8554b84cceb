-- A worker that holds a session advisory lock for its whole life names the lock's key here; PostgreSQL releases the
-- lock when the worker's session ends, so another instance sees a crashed worker at once in pg_locks. NULL: the
-- worker proves itself only by heartbeats (liveness locks off, or a transaction-mode pooler in between).
ALTER TABLE workers ADD COLUMN liveness_key bigint;
-- The backend pid that holds the lock, for operators (pg_stat_activity, pg_terminate_backend).
ALTER TABLE workers ADD COLUMN liveness_pid integer;
