package io.bisectbot.queue;

import io.bisectbot.crypto.Column;
import io.bisectbot.crypto.Encryption;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.support.SqlArrayValue;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * All SQL of the job queue. The hot path (claim, heartbeat, transitions) is one statement and one round trip each,
 * and batches many jobs per statement. Times come from the caller's clock, so tests move time instead of sleeping.
 */
final class JobRepository {

    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;
    private final JsonMapper json;
    private final RowMapper<Job> jobMapper;
    private final int maxPendingPerTenant;
    private final int maxRunningPerTenant;
    private final Encryption encryption;

    /** With the default per-tenant caps. */
    JobRepository(DataSource dataSource, JsonMapper json) {
        this(
                dataSource,
                json,
                QueueProperties.defaults().maxPendingPerTenant(),
                QueueProperties.defaults().maxRunningPerTenant());
    }

    /** A cap of 0 means none. */
    JobRepository(DataSource dataSource, JsonMapper json, int maxPendingPerTenant, int maxRunningPerTenant) {
        this(dataSource, json, maxPendingPerTenant, maxRunningPerTenant, Encryption.none());
    }

    /** Payloads and results are sealed with {@code encryption} (their search keys stay in the clear). */
    JobRepository(
            DataSource dataSource,
            JsonMapper json,
            int maxPendingPerTenant,
            int maxRunningPerTenant,
            Encryption encryption) {
        this.encryption = encryption;
        this.jdbc = JdbcClient.create(dataSource);
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
        this.json = json;
        this.jobMapper = this::mapJob;
        this.maxPendingPerTenant = maxPendingPerTenant;
        this.maxRunningPerTenant = maxRunningPerTenant;
    }

    // --- enqueue ---------------------------------------------------------------------------------------------

    record Enqueued(Job job, boolean created) {}

    /**
     * Inserts the job, or returns the one that owns its dedup key.
     *
     * @throws JobQueue.TenantOverCap when the job is new and its tenant already has its cap of pending jobs
     */
    Enqueued enqueue(NewJob job, Instant now) {
        var capped = job.tenant() != null && maxPendingPerTenant > 0;
        // With a cap, the count and the insert are one statement; concurrent enqueues may pass it by a few jobs.
        var inserted = jdbc.sql(capped ? """
                        INSERT INTO jobs (kind, payload, priority, run_at, max_attempts, dedup_key, tenant, created_at, updated_at)
                        SELECT :kind, CAST(:payload AS jsonb), :priority, :run_at, :max_attempts, :dedup_key, :tenant, :now, :now
                         WHERE (SELECT count(*) FROM jobs WHERE COALESCE(tenant, '') = :tenant AND status = 'PENDING') < :cap
                        ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
                        RETURNING *""" : """
                        INSERT INTO jobs (kind, payload, priority, run_at, max_attempts, dedup_key, tenant, created_at, updated_at)
                        VALUES (:kind, CAST(:payload AS jsonb), :priority, :run_at, :max_attempts, :dedup_key, :tenant, :now, :now)
                        ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
                        RETURNING *""")
                .param("tenant", job.tenant())
                .param("cap", maxPendingPerTenant)
                .param("kind", job.kind())
                .param("payload", encryption.sealJson(Column.JOB_PAYLOAD, job.payload()))
                .param("priority", job.priority())
                .param("run_at", ts(job.runAt() != null ? job.runAt() : now))
                .param("max_attempts", job.maxAttempts())
                .param("dedup_key", job.dedupKey())
                .param("now", ts(now))
                .query(jobMapper)
                .optional();
        if (inserted.isPresent()) {
            return new Enqueued(inserted.get(), true);
        }
        // The key exists: hand back the job that owns it. ON CONFLICT waited for that row's transaction, so it is
        // visible now.
        var existing = job.dedupKey() == null
                ? Optional.<Job>empty()
                : jdbc.sql("SELECT * FROM jobs WHERE dedup_key = :dedup_key")
                        .param("dedup_key", job.dedupKey())
                        .query(jobMapper)
                        .optional();
        if (existing.isPresent()) {
            return new Enqueued(existing.get(), false);
        }
        if (!capped) {
            throw new IllegalStateException("job with dedup key " + job.dedupKey() + " was neither inserted nor found");
        }
        throw new JobQueue.TenantOverCap(
                job.tenant(), pendingOf(List.of(job.tenant())).getOrDefault(job.tenant(), 0L), 1, maxPendingPerTenant);
    }

    /** PENDING jobs per tenant, for the given tenants (a tenant without any is missing from the answer). */
    Map<String, Long> pendingOf(Collection<String> tenants) {
        var counts = new HashMap<String, Long>();
        jdbc.sql("""
                        SELECT COALESCE(tenant, ''), count(*) FROM jobs
                         WHERE status = 'PENDING' AND COALESCE(tenant, '') = ANY(:tenants)
                         GROUP BY 1""")
                .param("tenants", new SqlArrayValue("text", tenants.toArray()))
                .query((rs, row) -> counts.put(rs.getString(1), rs.getLong(2)))
                .list();
        return counts;
    }

    /** Tenants with at least {@code atLeast} PENDING jobs, with their counts. */
    Map<String, Long> tenantsWithPending(long atLeast) {
        var counts = new HashMap<String, Long>();
        jdbc.sql("""
                        SELECT COALESCE(tenant, ''), count(*) FROM jobs
                         WHERE status = 'PENDING' AND COALESCE(tenant, '') > ''
                         GROUP BY 1
                        HAVING count(*) >= :at_least""")
                .param("at_least", atLeast)
                .query((rs, row) -> counts.put(rs.getString(1), rs.getLong(2)))
                .list();
        return counts;
    }

    /**
     * Refuses the whole list when it would take a tenant above its pending cap. Counted before the insert, in its
     * own statement: concurrent enqueues may pass the cap by a few jobs.
     */
    private void checkPendingCaps(List<NewJob> jobs) {
        if (maxPendingPerTenant <= 0) {
            return;
        }
        var adding = new HashMap<String, Integer>();
        for (var job : jobs) {
            if (job.tenant() != null) {
                adding.merge(job.tenant(), 1, Integer::sum);
            }
        }
        if (adding.isEmpty()) {
            return;
        }
        var pending = pendingOf(adding.keySet());
        for (var entry : adding.entrySet()) {
            var now = pending.getOrDefault(entry.getKey(), 0L);
            if (now + entry.getValue() > maxPendingPerTenant) {
                throw new JobQueue.TenantOverCap(entry.getKey(), now, entry.getValue(), maxPendingPerTenant);
            }
        }
    }

    /** Inserts many jobs in one statement; jobs whose dedup key exists are skipped. Returns the new ids. */
    List<Long> enqueueAll(List<NewJob> jobs, Instant now) {
        if (jobs.isEmpty()) {
            return List.of();
        }
        checkPendingCaps(jobs);
        int n = jobs.size();
        var tenants = new String[n];
        var kinds = new String[n];
        var payloads = new String[n];
        var priorities = new Integer[n];
        var runAts = new String[n];
        var maxAttempts = new Integer[n];
        var dedupKeys = new String[n];
        for (int i = 0; i < n; i++) {
            var job = jobs.get(i);
            kinds[i] = job.kind();
            payloads[i] = encryption.sealJson(Column.JOB_PAYLOAD, job.payload());
            priorities[i] = job.priority();
            runAts[i] = (job.runAt() != null ? job.runAt() : now).toString();
            maxAttempts[i] = job.maxAttempts();
            dedupKeys[i] = job.dedupKey();
            tenants[i] = job.tenant();
        }
        return jdbc.sql("""
                        INSERT INTO jobs (kind, payload, priority, run_at, max_attempts, dedup_key, tenant, created_at, updated_at)
                        SELECT k, CAST(p AS jsonb), pr, CAST(r AS timestamptz), m, d, t, :now, :now
                          FROM unnest(:kinds, :payloads, :priorities, :run_ats, :max_attempts, :dedup_keys, :tenants)
                               AS n(k, p, pr, r, m, d, t)
                        ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
                        RETURNING id""")
                .param("kinds", new SqlArrayValue("text", (Object[]) kinds))
                .param("payloads", new SqlArrayValue("text", (Object[]) payloads))
                .param("priorities", new SqlArrayValue("int4", (Object[]) priorities))
                .param("run_ats", new SqlArrayValue("text", (Object[]) runAts)) // ISO instants, cast per row
                .param("max_attempts", new SqlArrayValue("int4", (Object[]) maxAttempts))
                .param("dedup_keys", new SqlArrayValue("text", (Object[]) dedupKeys))
                .param("tenants", new SqlArrayValue("text", (Object[]) tenants))
                .param("now", ts(now))
                .query(Long.class)
                .list();
    }

    // --- hot path: claim, heartbeat, transitions --------------------------------------------------------------

    /**
     * Claims up to {@code limit} due jobs for {@code workerId}, skipping rows other workers are claiming, and records a
     * 'claimed' event for each. One round trip. Fair share: each tenant (and the group of jobs without one) offers its
     * first jobs in (priority, run_at, id) order, up to its free running slots, and the claim takes them in order of
     * (priority, rank within the tenant, run_at, id), so a tenant's first job waits behind no other tenant's backlog.
     * Tenants are found by one index descent each, so jobs without a tenant cost what they did before.
     */
    List<Job> claim(String workerId, int limit, Collection<String> excludedKinds, Instant now) {
        return jdbc.sql("""
                        WITH RECURSIVE tenants AS (
                            -- The tenants with pending jobs, in tenant order: a loose scan of jobs_claim_by_tenant.
                            SELECT min(COALESCE(tenant, '')) AS tenant FROM jobs
                             WHERE status = 'PENDING' AND COALESCE(tenant, '') > ''
                            UNION ALL
                            SELECT (SELECT min(COALESCE(j.tenant, '')) FROM jobs j
                                     WHERE j.status = 'PENDING' AND COALESCE(j.tenant, '') > t.tenant)
                              FROM tenants t
                             WHERE t.tenant IS NOT NULL
                        ), untenanted AS (
                            SELECT id, priority, run_at FROM jobs
                             WHERE status = 'PENDING' AND COALESCE(tenant, '') = ''
                               AND run_at <= :now
                               AND NOT (kind = ANY(:excluded_kinds))            -- kinds this worker cannot run now
                             ORDER BY priority, run_at, id
                             LIMIT :limit                                       -- this worker's free slots
                               FOR UPDATE SKIP LOCKED
                        ), tenanted AS (
                            SELECT c.id, t.tenant, c.priority, c.run_at
                              FROM tenants t
                             CROSS JOIN LATERAL (
                                   SELECT j.id, j.priority, j.run_at FROM jobs j
                                    WHERE j.status = 'PENDING' AND COALESCE(j.tenant, '') = t.tenant
                                      AND j.run_at <= :now
                                      AND NOT (j.kind = ANY(:excluded_kinds))
                                    ORDER BY j.priority, j.run_at, j.id
                                    -- At most the tenant's free running slots (this takes its claim lock).
                                    LIMIT CASE WHEN :running_cap > 0
                                               THEN least(:limit, job_tenant_free_slots(t.tenant, :running_cap))
                                               ELSE :limit END
                                      FOR UPDATE SKIP LOCKED) c
                             WHERE t.tenant IS NOT NULL
                        ), chosen AS (
                            -- Every candidate is locked already (rows not chosen are free again at commit), so
                            -- no join back to jobs, whose plan would depend on the table's statistics.
                            SELECT id FROM (
                                SELECT id, priority, run_at, row_number() OVER (ORDER BY priority, run_at, id) AS rank
                                  FROM untenanted
                                UNION ALL
                                SELECT id, priority, run_at, row_number() OVER (PARTITION BY tenant ORDER BY priority, run_at, id)
                                  FROM tenanted) ranked
                             ORDER BY priority, rank, run_at, id
                             LIMIT :limit
                        ), claimed AS (
                            UPDATE jobs
                               SET status = 'RUNNING',
                                   worker_id = :worker_id,
                                   attempt_count = attempt_count + 1,
                                   claimed_at = :now,
                                   started_at = COALESCE(started_at, :now),
                                   heartbeat_at = :now,
                                   updated_at = :now
                             WHERE id IN (SELECT id FROM chosen)
                            RETURNING *
                        ), logged AS (
                            INSERT INTO job_events (job_id, at, type, worker_id, attempt)
                            SELECT id, :now, 'claimed', worker_id, attempt_count FROM claimed
                        )
                        SELECT * FROM claimed ORDER BY priority, run_at, id""")
                .param("worker_id", workerId)
                .param("now", ts(now))
                .param("excluded_kinds", new SqlArrayValue("text", excludedKinds.toArray()))
                .param("limit", limit)
                .param("running_cap", maxRunningPerTenant)
                .query(jobMapper)
                .list();
    }

    /**
     * A worker's row; {@code livenessKey}, {@code livenessPid} and {@code livenessSince} (database time the lock was
     * taken) are null while it holds no liveness lock. {@code kinds}: what it has handlers for; {@code unreadyKinds}:
     * those it cannot run now (null: not said).
     */
    record WorkerRow(
            String id,
            Instant startedAt,
            String state,
            String version,
            int maxConcurrentJobs,
            Long livenessKey,
            Integer livenessPid,
            Instant livenessSince,
            Collection<String> kinds,
            Collection<String> unreadyKinds) {
        WorkerRow(String id, Instant startedAt, String state, String version, int maxConcurrentJobs) {
            this(id, startedAt, state, version, maxConcurrentJobs, null, null, null, null, null);
        }

        WorkerRow(
                String id,
                Instant startedAt,
                String state,
                String version,
                int maxConcurrentJobs,
                Long livenessKey,
                Integer livenessPid,
                Instant livenessSince) {
            this(id, startedAt, state, version, maxConcurrentJobs, livenessKey, livenessPid, livenessSince, null, null);
        }
    }

    /**
     * Proves the worker and its running jobs alive in one statement. Returns, for each attempt whose fence still
     * holds, whether someone asked to cancel the job; an attempt missing from the answer was taken back from this
     * worker. Keyed by fence, not job id: after a lost heartbeat this worker may run two attempts of one job, and
     * only the newer one is alive.
     */
    Map<JobFence, Boolean> heartbeat(WorkerRow worker, Collection<JobFence> running, Instant now) {
        var ids = new Long[running.size()];
        var attempts = new Integer[running.size()];
        int i = 0;
        for (var fence : running) {
            ids[i] = fence.jobId();
            attempts[i++] = fence.attempt();
        }
        var alive = new HashMap<JobFence, Boolean>();
        jdbc.sql("""
                        WITH worker AS (
                            INSERT INTO workers (id, started_at, heartbeat_at, state, version, max_concurrent_jobs,
                                                 liveness_key, liveness_pid, liveness_since, kinds, unready_kinds)
                            VALUES (:worker_id, :started_at, :now, :state, :version, :max_concurrent_jobs,
                                    :liveness_key, :liveness_pid, :liveness_since, :kinds, :unready_kinds)
                            ON CONFLICT (id) DO UPDATE
                               SET heartbeat_at = EXCLUDED.heartbeat_at,
                                   state = EXCLUDED.state,
                                   max_concurrent_jobs = EXCLUDED.max_concurrent_jobs,
                                   liveness_key = EXCLUDED.liveness_key,
                                   liveness_pid = EXCLUDED.liveness_pid,
                                   liveness_since = EXCLUDED.liveness_since,
                                   kinds = EXCLUDED.kinds,
                                   unready_kinds = EXCLUDED.unready_kinds
                        ), locked AS (
                            -- Row locks in id order, like applyTransitions: never a deadlock with a completion batch.
                            SELECT j.id FROM jobs j
                             WHERE j.id = ANY(:ids)
                               AND j.worker_id = :worker_id
                               AND j.status = 'RUNNING'
                             ORDER BY j.id
                               FOR UPDATE
                        ), alive AS (
                            UPDATE jobs j
                               SET heartbeat_at = :now
                              FROM unnest(:ids, :attempts) AS f(id, attempt)
                              JOIN locked l ON l.id = f.id
                             WHERE j.id = f.id
                               AND j.attempt_count = f.attempt
                               AND j.worker_id = :worker_id
                               AND j.status = 'RUNNING'
                            RETURNING j.id, j.attempt_count, j.cancel_requested
                        )
                        SELECT id, attempt_count, cancel_requested FROM alive""")
                .param("worker_id", worker.id())
                .param("started_at", ts(worker.startedAt()))
                .param("now", ts(now))
                .param("state", worker.state())
                .param("version", worker.version())
                .param("max_concurrent_jobs", worker.maxConcurrentJobs())
                .param("liveness_key", worker.livenessKey(), java.sql.Types.BIGINT)
                .param("liveness_pid", worker.livenessPid(), java.sql.Types.INTEGER)
                .param("liveness_since", worker.livenessSince() == null ? null : ts(worker.livenessSince()))
                .param(
                        "kinds",
                        worker.kinds() == null
                                ? null
                                : new SqlArrayValue(
                                        "text", worker.kinds().stream().sorted().toArray()))
                .param(
                        "unready_kinds",
                        worker.unreadyKinds() == null
                                ? null
                                : new SqlArrayValue(
                                        "text",
                                        worker.unreadyKinds().stream().sorted().toArray()))
                .param("ids", new SqlArrayValue("int8", (Object[]) ids))
                .param("attempts", new SqlArrayValue("int4", (Object[]) attempts))
                .query((rs, row) -> alive.put(new JobFence(rs.getLong(1), worker.id(), rs.getInt(2)), rs.getBoolean(3)))
                .list();
        return alive;
    }

    /**
     * Applies each transition whose fence still holds (job RUNNING on that worker in that attempt) and records its
     * event. With {@code staleBefore}, only jobs whose heartbeat is older move: a worker that proved itself alive
     * meanwhile keeps its job, and of two instances recovering the same job at once, one wins.
     * A move back to PENDING of a job someone asked to cancel cancels it instead.
     *
     * @return ids of the jobs that moved
     */
    Set<Long> applyTransitions(List<Transition> transitions, Instant now, Instant staleBefore) {
        return applyTransitions(transitions, now, staleBefore, false);
    }

    /**
     * As {@link #applyTransitions(List, Instant, Instant)}; with {@code orphansOnly}, only jobs whose worker names
     * a liveness lock that no session holds move, checked in the same statement.
     */
    Set<Long> applyTransitions(List<Transition> transitions, Instant now, Instant staleBefore, boolean orphansOnly) {
        if (transitions.isEmpty()) {
            return Set.of();
        }
        int n = transitions.size();
        var ids = new Long[n];
        var workers = new String[n];
        var attempts = new Integer[n];
        var statuses = new String[n];
        var attemptDeltas = new Integer[n];
        var delaysMs = new Long[n];
        var results = new String[n];
        var errors = new String[n];
        var eventTypes = new String[n];
        var eventDetails = new String[n];
        for (int i = 0; i < n; i++) {
            var t = transitions.get(i);
            ids[i] = t.fence().jobId();
            workers[i] = t.fence().workerId();
            attempts[i] = t.fence().attempt();
            statuses[i] = t.status().name();
            attemptDeltas[i] = t.attemptDelta();
            delaysMs[i] = t.retryDelay().toMillis();
            results[i] = encryption.sealJson(Column.JOB_RESULT, t.resultJson());
            errors[i] = t.error();
            eventTypes[i] = t.eventType();
            eventDetails[i] = t.eventDetail();
        }
        var moved = new HashSet<Long>();
        jdbc.sql("""
                        WITH input AS (
                            SELECT * FROM unnest(:ids, :workers, :attempts, :statuses, :attempt_deltas, :delays_ms,
                                                 :results, :errors, :event_types, :event_details)
                                AS t(id, worker_id, attempt, status, attempt_delta, delay_ms,
                                     result, error, event_type, event_detail)
                        ), locked AS (
                            -- Row locks in id order, like the heartbeat: a worker's heartbeat and its completion
                            -- batch touch the same running rows, and locking them in two orders deadlocks.
                            SELECT j.id FROM jobs j
                             WHERE j.id IN (SELECT id FROM input)
                               AND j.status = 'RUNNING'
                             ORDER BY j.id
                               FOR UPDATE
                        ), moved AS (
                            UPDATE jobs j
                               SET status = CASE WHEN t.status = 'PENDING' AND j.cancel_requested
                                                 THEN 'CANCELLED' ELSE t.status END,
                                   attempt_count = j.attempt_count + t.attempt_delta,
                                   run_at = CASE WHEN t.status = 'PENDING'
                                                 THEN CAST(:now AS timestamptz) + t.delay_ms * interval '1 millisecond'
                                                 ELSE j.run_at END,
                                   worker_id = CASE WHEN t.status = 'PENDING' AND NOT j.cancel_requested
                                                    THEN NULL ELSE j.worker_id END,
                                   finished_at = CASE WHEN t.status = 'PENDING' AND NOT j.cancel_requested
                                                      THEN NULL ELSE :now END,
                                   heartbeat_at = NULL,
                                   result = CAST(t.result AS jsonb),
                                   last_error = COALESCE(t.error, j.last_error),
                                   updated_at = :now
                              FROM input t
                              JOIN locked l ON l.id = t.id
                             WHERE j.id = t.id
                               AND j.worker_id = t.worker_id      -- the fence: same worker
                               AND j.attempt_count = t.attempt    -- same attempt
                               AND j.status = 'RUNNING'
                               AND (CAST(:stale_before AS timestamptz) IS NULL OR j.heartbeat_at < :stale_before)
                               AND (NOT :orphans_only OR j.worker_id IN (SELECT w.id FROM workers w WHERE {orphaned}))
                            RETURNING j.id, j.status, t.status AS asked, t.worker_id, t.attempt, t.event_type, t.event_detail
                        ), logged AS (
                            INSERT INTO job_events (job_id, at, type, worker_id, attempt, detail)
                            SELECT id, :now,
                                   CASE WHEN status = 'CANCELLED' AND asked = 'PENDING' THEN 'cancelled' ELSE event_type END,
                                   worker_id, attempt, event_detail
                              FROM moved
                        )
                        SELECT id FROM moved""".replace("{orphaned}", ORPHANED_WORKER))
                .param("ids", new SqlArrayValue("int8", (Object[]) ids))
                .param("workers", new SqlArrayValue("text", (Object[]) workers))
                .param("attempts", new SqlArrayValue("int4", (Object[]) attempts))
                .param("statuses", new SqlArrayValue("text", (Object[]) statuses))
                .param("attempt_deltas", new SqlArrayValue("int4", (Object[]) attemptDeltas))
                .param("delays_ms", new SqlArrayValue("int8", (Object[]) delaysMs))
                .param("results", new SqlArrayValue("text", (Object[]) results))
                .param("errors", new SqlArrayValue("text", (Object[]) errors))
                .param("event_types", new SqlArrayValue("text", (Object[]) eventTypes))
                .param("event_details", new SqlArrayValue("text", (Object[]) eventDetails))
                .param("now", ts(now))
                .param("stale_before", staleBefore == null ? null : ts(staleBefore))
                .param("orphans_only", orphansOnly)
                .query((rs, row) -> moved.add(rs.getLong(1)))
                .list();
        return moved;
    }

    // --- recovery ---------------------------------------------------------------------------------------------

    record StaleJob(JobFence fence, String kind, int maxAttempts, boolean cancelRequested, Instant heartbeatAt) {}

    List<StaleJob> findStale(Instant staleBefore, int limit) {
        return jdbc.sql("""
                        SELECT id, kind, worker_id, attempt_count, max_attempts, cancel_requested, heartbeat_at
                          FROM jobs
                         WHERE status = 'RUNNING' AND heartbeat_at < :stale_before AND {since_restart}
                         ORDER BY heartbeat_at
                         LIMIT :limit""".replace("{since_restart}", STALE_SINCE_RESTART))
                .param("stale_before", ts(staleBefore))
                .param("limit", limit)
                .query((rs, row) -> new StaleJob(
                        new JobFence(rs.getLong("id"), rs.getString("worker_id"), rs.getInt("attempt_count")),
                        rs.getString("kind"),
                        rs.getInt("max_attempts"),
                        rs.getBoolean("cancel_requested"),
                        instant(rs, "heartbeat_at")))
                .list();
    }

    /**
     * A worker {@code w} that promised a liveness lock which no session holds now: it crashed or lost its session.
     * A lock taken before the server last started was ended by that restart, and its worker may well be alive and
     * about to take it again: that worker is left to the heartbeat rule (see {@link #STALE_SINCE_RESTART}).
     */
    private static final String ORPHANED_WORKER = "w.liveness_key IS NOT NULL"
            + " AND w.liveness_since > pg_postmaster_start_time() AND NOT "
            + LivenessLock.LOCK_HELD.formatted("w.liveness_key");

    /**
     * No heartbeat could be written while the server was down, so a heartbeat is counted as no older than the
     * server's start: after an outage longer than {@code JOB_STALE_AFTER}, live workers get that long to beat again.
     */
    private static final String STALE_SINCE_RESTART = "pg_postmaster_start_time() < :stale_before";

    /** Running jobs of workers whose liveness lock is gone (see {@link LivenessLock}), oldest claim first. */
    List<StaleJob> findOrphaned(int limit) {
        return jdbc.sql("""
                        SELECT j.id, j.kind, j.worker_id, j.attempt_count, j.max_attempts, j.cancel_requested, j.heartbeat_at
                          FROM jobs j
                          JOIN workers w ON w.id = j.worker_id
                         WHERE j.status = 'RUNNING' AND {orphaned}
                         ORDER BY j.claimed_at
                         LIMIT :limit""".replace("{orphaned}", ORPHANED_WORKER))
                .param("limit", limit)
                .query((rs, row) -> new StaleJob(
                        new JobFence(rs.getLong("id"), rs.getString("worker_id"), rs.getInt("attempt_count")),
                        rs.getString("kind"),
                        rs.getInt("max_attempts"),
                        rs.getBoolean("cancel_requested"),
                        instant(rs, "heartbeat_at")))
                .list();
    }

    /** Running jobs recorded as this worker's: at start, attempts of an earlier process with the same worker id. */
    List<StaleJob> findRunningOf(String workerId) {
        return jdbc.sql("""
                        SELECT id, kind, worker_id, attempt_count, max_attempts, cancel_requested, heartbeat_at
                          FROM jobs WHERE status = 'RUNNING' AND worker_id = :worker_id ORDER BY id""")
                .param("worker_id", workerId)
                .query((rs, row) -> new StaleJob(
                        new JobFence(rs.getLong("id"), rs.getString("worker_id"), rs.getInt("attempt_count")),
                        rs.getString("kind"),
                        rs.getInt("max_attempts"),
                        rs.getBoolean("cancel_requested"),
                        instant(rs, "heartbeat_at")))
                .list();
    }

    /** Marks workers whose liveness lock is gone as STOPPED and forgets the key; returns their ids. */
    List<String> markOrphanedWorkersStopped() {
        return jdbc.sql(
                        "UPDATE workers w SET state = 'STOPPED', liveness_key = NULL, liveness_pid = NULL, liveness_since = NULL WHERE "
                                + ORPHANED_WORKER
                                + " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.status = 'RUNNING' AND j.worker_id = w.id)"
                                + " RETURNING id")
                .query(String.class)
                .list();
    }

    /** Marks workers that stopped heartbeating as STOPPED; returns their ids. */
    List<String> markStaleWorkersStopped(Instant staleBefore) {
        return jdbc.sql("""
                        UPDATE workers SET state = 'STOPPED'
                         WHERE state <> 'STOPPED' AND heartbeat_at < :stale_before AND {since_restart}
                        RETURNING id""".replace("{since_restart}", STALE_SINCE_RESTART))
                .param("stale_before", ts(staleBefore))
                .query(String.class)
                .list();
    }

    void setWorkerState(String workerId, String state, Instant now) {
        jdbc.sql("UPDATE workers SET state = :state, heartbeat_at = :now WHERE id = :worker_id")
                .param("state", state)
                .param("now", ts(now))
                .param("worker_id", workerId)
                .update();
    }

    void recordEvent(long jobId, Instant at, String type, String workerId, Integer attempt, String detail) {
        recordEvent(jobId, at, type, workerId, attempt, detail, null);
    }

    void recordEvent(
            long jobId, Instant at, String type, String workerId, Integer attempt, String detail, String actor) {
        jdbc.sql("""
                        INSERT INTO job_events (job_id, at, type, worker_id, attempt, detail, actor)
                        VALUES (:job_id, :at, :type, :worker_id, :attempt, :detail, :actor)""")
                .param("job_id", jobId)
                .param("at", ts(at))
                .param("type", type)
                .param("worker_id", workerId)
                .param("attempt", attempt)
                .param("detail", detail)
                .param("actor", actor)
                .update();
    }

    /** Wakes idle workers everywhere, e.g. after jobs were released at shutdown. */
    void notifyJobsAvailable() {
        jdbc.sql("SELECT pg_notify('bisectbot_jobs', '')").query().singleRow();
    }

    // --- operator actions -------------------------------------------------------------------------------------

    /** The status a job had before the cancel, and after it; empty when there is no such job. */
    record CancelResult(JobStatus before, JobStatus after) {}

    /**
     * Cancels a PENDING job at once; for a RUNNING one, records the request and notifies the worker running it
     * (the worker stops the handler and the job ends CANCELLED). Final jobs are left as they are.
     */
    Optional<CancelResult> cancel(long id, Instant now, String actor) {
        return transactions.execute(tx -> {
            var before = jdbc.sql("SELECT status FROM jobs WHERE id = :id FOR UPDATE")
                    .param("id", id)
                    .query((rs, row) -> JobStatus.valueOf(rs.getString(1)))
                    .optional();
            if (before.isEmpty()) {
                return Optional.<CancelResult>empty();
            }
            switch (before.get()) {
                case PENDING -> {
                    jdbc.sql("""
                                    UPDATE jobs SET status = 'CANCELLED', finished_at = :now, updated_at = :now,
                                                    last_error = 'cancelled before it ran'
                                     WHERE id = :id""").param("id", id).param("now", ts(now)).update();
                    recordEvent(id, now, "cancelled", null, null, "cancelled while pending", actor);
                    return Optional.of(new CancelResult(JobStatus.PENDING, JobStatus.CANCELLED));
                }
                case RUNNING -> {
                    jdbc.sql("UPDATE jobs SET cancel_requested = true, updated_at = :now WHERE id = :id")
                            .param("id", id)
                            .param("now", ts(now))
                            .update();
                    recordEvent(
                            id, now, "cancel_requested", null, null, "the worker running it was asked to stop", actor);
                    jdbc.sql("SELECT pg_notify('bisectbot_cancel', :id)")
                            .param("id", Long.toString(id))
                            .query()
                            .singleRow();
                    return Optional.of(new CancelResult(JobStatus.RUNNING, JobStatus.RUNNING));
                }
                default -> {
                    return Optional.of(new CancelResult(before.get(), before.get()));
                }
            }
        });
    }

    /** The new job that retries {@code id}, and whether this call created it (a second call returns the first). */
    record RetryResult(Job job, boolean created) {}

    /**
     * Creates a new PENDING job with the same kind, payload, limits and tenant (so the retry counts against the same
     * installation's fair share and caps), linked by {@code retry_of}. Only FAILED or
     * CANCELLED jobs can be retried, and each at most once: retrying it again returns the existing retry.
     *
     * @return empty when there is no such job
     * @throws IllegalStateException when the job is not FAILED or CANCELLED
     */
    Optional<RetryResult> retry(long id, Instant now, String actor) {
        return transactions.execute(tx -> {
            var original = jdbc.sql("SELECT * FROM jobs WHERE id = :id FOR UPDATE")
                    .param("id", id)
                    .query(jobMapper)
                    .optional();
            if (original.isEmpty()) {
                return Optional.<RetryResult>empty();
            }
            var existing = jdbc.sql("SELECT * FROM jobs WHERE retry_of = :id ORDER BY id LIMIT 1")
                    .param("id", id)
                    .query(jobMapper)
                    .optional();
            if (existing.isPresent()) {
                return Optional.of(new RetryResult(existing.get(), false));
            }
            var status = original.get().status();
            if (status != JobStatus.FAILED && status != JobStatus.CANCELLED) {
                throw new IllegalStateException(
                        "job " + id + " is " + status + "; only FAILED or CANCELLED jobs can be retried");
            }
            var created = jdbc.sql("""
                            INSERT INTO jobs (kind, payload, priority, run_at, max_attempts, retry_of, tenant, created_at, updated_at)
                            SELECT kind, payload, priority, :now, max_attempts, id, tenant, :now, :now FROM jobs WHERE id = :id
                            RETURNING *""")
                    .param("id", id)
                    .param("now", ts(now))
                    .query(jobMapper)
                    .single();
            recordEvent(id, now, "retried", null, null, "retried as job " + created.id(), actor);
            recordEvent(created.id(), now, "created", null, null, "retry of job " + id, actor);
            return Optional.of(new RetryResult(created, true));
        });
    }

    // --- reads ------------------------------------------------------------------------------------------------

    /** PENDING and RUNNING jobs of {@code kind} whose payload contains {@code payloadSubset} (jsonb {@code @>}). */
    List<Job> findLive(String kind, JsonNode payloadSubset) {
        return jdbc.sql("""
                        SELECT * FROM jobs
                         WHERE kind = :kind AND status IN ('PENDING', 'RUNNING') AND payload @> CAST(:subset AS jsonb)
                         ORDER BY id""")
                .param("kind", kind)
                .param("subset", json.writeValueAsString(payloadSubset))
                .query(jobMapper)
                .list();
    }

    Optional<Job> find(long id) {
        return jdbc.sql("SELECT * FROM jobs WHERE id = :id")
                .param("id", id)
                .query(jobMapper)
                .optional();
    }

    /** Jobs of any kind not yet final whose payload contains {@code payloadSubset}, oldest first. */
    List<Job> findLive(JsonNode payloadSubset) {
        return jdbc.sql("""
                        SELECT * FROM jobs
                         WHERE status IN ('PENDING', 'RUNNING') AND payload @> CAST(:subset AS jsonb)
                         ORDER BY id""")
                .param("subset", json.writeValueAsString(payloadSubset))
                .query(jobMapper)
                .list();
    }

    /** True while {@code attempt} of the job runs on {@code workerId} and that worker has not stopped. */
    boolean isRunningAttempt(long jobId, String workerId, int attempt) {
        return jdbc.sql("""
                        SELECT EXISTS (
                            SELECT 1
                              FROM jobs j
                              JOIN workers w ON w.id = j.worker_id
                             WHERE j.id = :jobId
                               AND j.status = 'RUNNING'
                               AND j.worker_id = :workerId
                               AND j.attempt_count = :attempt
                               AND w.state <> 'STOPPED')
                        """)
                .param("jobId", jobId)
                .param("workerId", workerId)
                .param("attempt", attempt)
                .query(Boolean.class)
                .single();
    }

    boolean isWorkerAlive(String workerId) {
        return jdbc.sql("SELECT EXISTS (SELECT 1 FROM workers WHERE id = :id AND state <> 'STOPPED')")
                .param("id", workerId)
                .query(Boolean.class)
                .single();
    }

    long pendingCount() {
        return jdbc.sql("SELECT count(*) FROM jobs WHERE status = 'PENDING'")
                .query(Long.class)
                .single();
    }

    List<JobEvent> events(long jobId) {
        return jdbc.sql("SELECT * FROM job_events WHERE job_id = :job_id ORDER BY id")
                .param("job_id", jobId)
                .query((rs, row) -> new JobEvent(
                        rs.getLong("id"),
                        instant(rs, "at"),
                        rs.getString("type"),
                        rs.getString("worker_id"),
                        (Integer) rs.getObject("attempt"),
                        rs.getString("detail"),
                        rs.getString("actor")))
                .list();
    }

    /** What decides whether a pending job can start now, read in one statement (see {@link JobQueue#whyWaiting}). */
    record WaitingFacts(
            long liveInstances,
            long withKind,
            long ready,
            long slots,
            long freeSlots,
            long tenantRunning,
            long ahead) {}

    WaitingFacts waitingFacts(Job job, Instant now, Instant aliveAfter) {
        return jdbc.sql("""
                        WITH live AS (
                            SELECT w.max_concurrent_jobs,
                                   -- An instance of an older version says nothing about its kinds: assume it runs all.
                                   w.kinds IS NULL OR :kind = ANY(w.kinds) AS has_kind,
                                   NOT (:kind = ANY(coalesce(w.unready_kinds, '{}'))) AS kind_ready,
                                   (SELECT count(*) FROM jobs j WHERE j.status = 'RUNNING' AND j.worker_id = w.id) AS running
                              FROM workers w
                             WHERE w.state = 'RUNNING' AND w.heartbeat_at > :alive_after
                        )
                        SELECT (SELECT count(*) FROM live)                                    AS live,
                               (SELECT count(*) FROM live WHERE has_kind)                     AS with_kind,
                               (SELECT count(*) FROM live WHERE has_kind AND kind_ready)      AS ready,
                               (SELECT coalesce(sum(max_concurrent_jobs), 0) FROM live WHERE has_kind AND kind_ready) AS slots,
                               (SELECT coalesce(sum(greatest(max_concurrent_jobs - running, 0)), 0)
                                  FROM live WHERE has_kind AND kind_ready)                    AS free_slots,
                               (SELECT count(*) FROM jobs WHERE status = 'RUNNING' AND tenant = :tenant) AS tenant_running,
                               (SELECT count(*) FROM jobs
                                 WHERE status = 'PENDING' AND run_at <= :now
                                   AND (priority, run_at, id) < (:priority, :run_at, :id))   AS ahead""")
                .param("kind", job.kind())
                .param("alive_after", ts(aliveAfter))
                .param("tenant", job.tenant())
                .param("now", ts(now))
                .param("priority", job.priority())
                .param("run_at", ts(job.runAt()))
                .param("id", job.id())
                .query((rs, row) -> new WaitingFacts(
                        rs.getLong("live"),
                        rs.getLong("with_kind"),
                        rs.getLong("ready"),
                        rs.getLong("slots"),
                        rs.getLong("free_slots"),
                        rs.getLong("tenant_running"),
                        rs.getLong("ahead")))
                .single();
    }

    QueueStats stats(String workerId, Instant now, Instant aliveAfter) {
        return jdbc.sql("""
                        SELECT (SELECT count(*) FROM jobs WHERE status = 'PENDING')                      AS pending,
                               (SELECT count(*) FROM jobs WHERE status = 'RUNNING')                      AS running,
                               (SELECT count(*) FROM jobs WHERE status = 'SUCCEEDED')                    AS completed,
                               (SELECT count(*) FROM jobs WHERE status = 'FAILED')                       AS failed,
                               (SELECT count(*) FROM jobs WHERE status = 'CANCELLED')                    AS cancelled,
                               (SELECT count(*) FROM jobs WHERE status = 'RUNNING' AND worker_id = :worker_id)
                                                                                                         AS running_here,
                               (SELECT count(*) FROM workers WHERE state <> 'STOPPED' AND heartbeat_at > :alive_after)
                                                                                                         AS workers_alive,
                               (SELECT min(run_at) FROM jobs WHERE status = 'PENDING' AND run_at <= :now) AS oldest_due""")
                .param("worker_id", workerId)
                .param("alive_after", ts(aliveAfter))
                .param("now", ts(now))
                .query((rs, row) -> {
                    var oldest = instant(rs, "oldest_due");
                    return new QueueStats(
                            rs.getLong("pending"),
                            rs.getLong("running"),
                            rs.getLong("completed"),
                            rs.getLong("failed"),
                            rs.getLong("cancelled"),
                            rs.getLong("running_here"),
                            rs.getLong("workers_alive"),
                            oldest == null ? 0 : Math.max(0, now.getEpochSecond() - oldest.getEpochSecond()));
                })
                .single();
    }

    // --- mapping ----------------------------------------------------------------------------------------------

    private Job mapJob(ResultSet rs, int row) throws SQLException {
        return new Job(
                rs.getLong("id"),
                rs.getString("kind"),
                encryption.openJson(Column.JOB_PAYLOAD, rs.getString("payload")),
                JobStatus.valueOf(rs.getString("status")),
                rs.getInt("priority"),
                instant(rs, "run_at"),
                rs.getInt("attempt_count"),
                rs.getInt("max_attempts"),
                rs.getString("worker_id"),
                instant(rs, "heartbeat_at"),
                instant(rs, "claimed_at"),
                instant(rs, "started_at"),
                instant(rs, "finished_at"),
                rs.getString("last_error"),
                encryption.openJson(Column.JOB_RESULT, rs.getString("result")),
                (Long) rs.getObject("retry_of"),
                rs.getString("dedup_key"),
                rs.getBoolean("cancel_requested"),
                instant(rs, "created_at"),
                instant(rs, "updated_at"),
                rs.getString("tenant"));
    }

    static OffsetDateTime ts(Instant instant) {
        return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
    }

    static Instant instant(ResultSet rs, String column) throws SQLException {
        var value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }
}
