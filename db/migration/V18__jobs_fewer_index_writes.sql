-- Queue throughput. Every claim and every completion changes status, which the partial indexes' predicates read,
-- so neither is a heap-only (HOT) update: each writes an entry into every index whose predicate the new row
-- version matches. Fewer such indexes, fewer writes per job.

-- Superseded by jobs_claim_by_tenant (V9), which every claim has used since.
DROP INDEX jobs_claim_order;

-- Recovery looks for stale jobs among the few RUNNING rows, which jobs_running_by_worker lists. Without an index
-- on heartbeat_at, a heartbeat (it moves heartbeat_at only) can be a HOT update.
DROP INDEX jobs_running_by_heartbeat;

-- Only jobs that name a GitHub thread: the /cancel lookup compares the owner with "=", which implies IS NOT NULL,
-- so it still uses the index; jobs without a thread no longer write an entry of nulls on enqueue and claim.
DROP INDEX jobs_live_by_github_thread;
CREATE INDEX jobs_live_by_github_thread
    ON jobs ((payload -> 'github' ->> 'owner'), (payload -> 'github' ->> 'repo'), (payload -> 'github' ->> 'issue_number'))
    WHERE status IN ('PENDING', 'RUNNING') AND (payload -> 'github' ->> 'owner') IS NOT NULL;

-- Room in each page for the row versions a job's claim, heartbeats and completion write (a HOT update must stay in
-- its page, and a non-HOT one in the same page dirties one page less); vacuum and analyze that keep up with a
-- table whose live part turns over every few seconds under load (the defaults wait for 20 % of the table).
ALTER TABLE jobs SET (fillfactor = 80,
                      autovacuum_vacuum_scale_factor = 0.02,
                      autovacuum_vacuum_insert_scale_factor = 0.02,
                      autovacuum_analyze_scale_factor = 0.02);
