-- The jobs list's pr:, sha: and free-text searches (dashboard JobSearch, the same expressions). Each reads only what a
-- sealed payload keeps in the clear (crypto Column.JOB_PAYLOAD) or last_error. Without these, a search that matches
-- few jobs walked the whole table newest first (1.5 to 2.6 s at 1,000,000 jobs).
--
-- Every index is partial on its key being present, so a job without that key (a noop job, say) writes no entry, and
-- none reads status: a job's claim, heartbeats and completion change no column they cover (payload, last_error)
-- except a failure's error. The planner uses them because the searched condition (=, LIKE) implies the key is not null.

-- pr:N, the GitHub thread's number across all repositories: a page walks one number's jobs newest first.
CREATE INDEX jobs_by_issue_number ON jobs ((payload -> 'github' ->> 'issue_number'), id)
    WHERE (payload -> 'github' ->> 'issue_number') IS NOT NULL;

-- sha:abc123, by prefix: one btree per key (text_pattern_ops serves LIKE 'abc123%' in any collation); the search ORs
-- them, which PostgreSQL answers with a BitmapOr of the few matching entries.
CREATE INDEX jobs_by_head_sha ON jobs (lower(payload ->> 'head_sha') text_pattern_ops)
    WHERE (payload ->> 'head_sha') IS NOT NULL;
CREATE INDEX jobs_by_github_head_sha ON jobs (lower(payload -> 'github' ->> 'head_sha') text_pattern_ops)
    WHERE (payload -> 'github' ->> 'head_sha') IS NOT NULL;
CREATE INDEX jobs_by_bad_commit ON jobs (lower(payload ->> 'bad') text_pattern_ops)
    WHERE (payload ->> 'bad') IS NOT NULL;

-- The planner takes no statistics from a partial index's expression, so it guessed that one sha prefix in 200 jobs
-- matches and walked the primary key instead (0.9 s when nothing matched). Statistics on the expressions themselves
-- (no index writes) let it see that a prefix matches a handful, and take the BitmapOr.
CREATE STATISTICS jobs_head_sha_stats ON (lower(payload ->> 'head_sha')) FROM jobs;
CREATE STATISTICS jobs_github_head_sha_stats ON (lower(payload -> 'github' ->> 'head_sha')) FROM jobs;
CREATE STATISTICS jobs_bad_commit_stats ON (lower(payload ->> 'bad')) FROM jobs;

-- Free text, a substring of the error in any case (ILIKE '%word%'): trigrams find the few errors that may hold it.
-- pg_trgm ships with PostgreSQL (contrib) and is trusted: the database's owner may create it (RUNBOOK, section 5).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX jobs_by_error_text ON jobs USING gin (last_error gin_trgm_ops)
    WHERE last_error IS NOT NULL;

-- The statistics above are empty until the table is analyzed; do it now rather than at autovacuum's next turn
-- (a sample of the table, seconds at a million rows; it does not hold back writes).
ANALYZE jobs;
