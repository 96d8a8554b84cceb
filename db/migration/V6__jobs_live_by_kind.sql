-- Finding the live jobs of a kind (e.g. a pull request's running bot tasks, to cancel them on a new push) must not
-- scan finished jobs.
CREATE INDEX jobs_live_by_kind ON jobs (kind) WHERE status IN ('PENDING', 'RUNNING');
