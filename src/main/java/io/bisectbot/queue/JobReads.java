package io.bisectbot.queue;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.support.SqlArrayValue;

/**
 * Read-only queries on jobs and workers for the dashboard: the jobs list by keyset, the instances, the failed webhook
 * deliveries, which jobs a bulk action applies to, and the counts behind the per-minute rollup. Nothing here changes a
 * job; a change goes through {@link JobQueue}.
 */
public final class JobReads {

    private static final Pattern WORD = Pattern.compile("\\S+");

    /**
     * Ids of concurrent inserts may be a little out of created_at order; the bound is widened by this many ids and the
     * created_at condition decides exactly.
     */
    private static final long ID_SLACK = 1000;

    /**
     * A job's repository as {@code owner/name} in lower case: its GitHub thread's, else the last two path segments of
     * its clone URL (without {@code .git}). Written exactly as the index {@code jobs_by_repo} of V20 is.
     */
    static final String REPO_KEY =
            "lower(coalesce((payload -> 'github' ->> 'owner') || '/' || (payload -> 'github' ->> 'repo'), "
                    + "substring(regexp_replace(payload ->> 'repo', '(\\.git)?/*$', '') from '[^/:]+/[^/:]+$')))";

    /**
     * The commits a job names in the clear, lower case: a bot job's head, the pull request head of a job started by a
     * comment, and a bisection's bad end. Written exactly as the indexes of V21 are.
     */
    static final List<String> SHA_KEYS = List.of(
            "lower(payload ->> 'head_sha')", "lower(payload -> 'github' ->> 'head_sha')", "lower(payload ->> 'bad')");

    /**
     * Which jobs the list shows: any of {@code statuses} (none: all), one kind, the search words {@code q}, one
     * installation (its tenant), created in [{@code from}, {@code to}), below the keyset position {@code after}, at
     * most {@code limit}. Null means no condition. The search {@code q} is words: {@code repo:owner/name},
     * {@code pr:123}, {@code sha:abc123}, and free text matched in the error; each word reads only what a sealed
     * payload keeps in the clear or {@code last_error}, through an index of V20 or V21 written with the same
     * expression.
     */
    public record Search(
            List<JobStatus> statuses,
            String kind,
            String q,
            Long installation,
            Instant from,
            Instant to,
            Long after,
            int limit) {
        public Search {
            statuses = statuses == null ? List.of() : List.copyOf(statuses);
        }
    }

    /** One row of the list: enough to recognise a job without opening it. */
    public record JobRow(
            long id,
            String kind,
            JobStatus status,
            int attemptCount,
            int maxAttempts,
            Instant runAt,
            Instant createdAt,
            Instant startedAt,
            Instant finishedAt,
            String lastError,
            Long retryOf,
            String repo,
            Long pullRequest) {}

    /** A page, and the {@code after} of the next one (null on the last page). */
    public record Page(List<JobRow> jobs, Long nextAfter) {}

    /** One instance as its {@code workers} row says, with the number of jobs it runs now. */
    public record WorkerRow(
            String id,
            String state,
            String version,
            int maxConcurrentJobs,
            long runningJobs,
            Instant startedAt,
            Instant heartbeatAt,
            List<String> kinds,
            List<String> unreadyKinds) {}

    /** A webhook delivery whose latest processing job failed. */
    public record FailedDelivery(
            String deliveryId,
            String event,
            String action,
            Long installationId,
            Instant receivedAt,
            long jobId,
            String error,
            Instant failedAt) {}

    /** The newest failed deliveries and how many there are in all. */
    public record FailedDeliveries(long total, List<FailedDelivery> items) {}

    /** Jobs created in one minute, and the highest id among them. */
    public record CreatedMinute(Instant minute, long count, long lastId) {}

    /** Jobs ended in one minute, by how they ended. */
    public record FinishedMinute(Instant minute, long succeeded, long failed, long cancelled) {}

    /** The queue depth now. */
    public record Depth(long pending, long running) {}

    private final JdbcClient jdbc;

    /** Reads through {@code dataSource}; inside a transaction of that data source, within it. */
    public JobReads(DataSource dataSource) {
        this.jdbc = JdbcClient.create(dataSource);
    }

    /** The jobs list: newest first, one page by keyset ({@code id < after}), so a page costs the same however deep. */
    public Page page(Search search) {
        var where = new ArrayList<String>();
        var params = new LinkedHashMap<String, Object>();
        where(search, where, params);
        var sql = """
                SELECT id, kind, status, attempt_count, max_attempts, run_at, created_at, started_at, finished_at,
                       left(last_error, 300) AS last_error, retry_of,
                       coalesce((payload -> 'github' ->> 'owner') || '/' || (payload -> 'github' ->> 'repo'), payload ->> 'repo') AS repo,
                       payload -> 'github' ->> 'issue_number' AS pull_request
                  FROM jobs""" + (where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where))
                + " ORDER BY id DESC LIMIT :limit";
        params.put("limit", search.limit() + 1);
        var rows = jdbc.sql(sql).params(params).query((rs, n) -> row(rs)).list();
        if (rows.size() > search.limit()) {
            var page = rows.subList(0, search.limit());
            return new Page(List.copyOf(page), page.getLast().id());
        }
        return new Page(rows, null);
    }

    /** The ids of the jobs matching {@code search} (its keyset position and limit ignored), newest first, at most {@code max}. */
    public List<Long> ids(Search search, int max) {
        var where = new ArrayList<String>();
        var params = new LinkedHashMap<String, Object>();
        where(
                new Search(
                        search.statuses(),
                        search.kind(),
                        search.q(),
                        search.installation(),
                        search.from(),
                        search.to(),
                        null,
                        1),
                where,
                params);
        params.put("max", max);
        return jdbc.sql("SELECT id FROM jobs" + (where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where))
                        + " ORDER BY id DESC LIMIT :max")
                .params(params)
                .query(Long.class)
                .list();
    }

    private void where(Search search, List<String> where, Map<String, Object> params) {
        if (search.after() != null) {
            where.add("id < :after");
            params.put("after", search.after());
        }
        if (!search.statuses().isEmpty()) {
            where.add("status IN (:statuses)");
            params.put("statuses", search.statuses().stream().map(Enum::name).toList());
        }
        if (search.kind() != null) {
            where.add("kind = :kind");
            params.put("kind", search.kind());
        }
        if (search.q() != null) {
            addSearch(search.q(), where, params);
        }
        if (search.installation() != null) {
            where.add("tenant = :tenant");
            params.put("tenant", "installation:" + search.installation());
        }
        // Ids are taken in time order, so a time range is also an id range (found by a few primary-key probes); the
        // id bound lets the newest-first walk start and stop near the range instead of at the newest job.
        if (search.from() != null) {
            where.add("id >= :from_id AND created_at >= :from");
            params.put("from_id", firstIdAtOrAfter(search.from()) - ID_SLACK);
            params.put("from", Timestamp.from(search.from()));
        }
        if (search.to() != null) {
            where.add("id < :to_id AND created_at < :to");
            params.put("to_id", firstIdAtOrAfter(search.to()) + ID_SLACK);
            params.put("to", Timestamp.from(search.to()));
        }
    }

    /** The smallest id whose job was created at or after {@code t} (binary search over the primary key). */
    private long firstIdAtOrAfter(Instant t) {
        var bounds = jdbc.sql("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM jobs")
                .query((rs, n) -> new long[] {rs.getLong(1), rs.getLong(2)})
                .single();
        long lo = bounds[0];
        long hi = bounds[1] + 1; // created_at of every id >= hi counts as "after"
        var at = Timestamp.from(t);
        while (lo < hi) {
            var mid = lo + (hi - lo) / 2;
            // The first job at or after mid (ids have gaps); none means everything from mid on is "after".
            var probe = jdbc.sql("SELECT id, created_at >= :at FROM jobs WHERE id >= :mid ORDER BY id LIMIT 1")
                    .param("mid", mid)
                    .param("at", at)
                    .query((rs, n) -> new Object[] {rs.getLong(1), rs.getBoolean(2)})
                    .optional();
            if (probe.isEmpty() || (Boolean) probe.get()[1]) {
                hi = mid;
            } else {
                lo = (Long) probe.get()[0] + 1;
            }
        }
        return lo;
    }

    private static void addSearch(String q, List<String> where, Map<String, Object> params) {
        var words = WORD.matcher(q);
        var n = 0;
        while (words.find()) {
            var word = words.group();
            var name = "w" + n++;
            var colon = word.indexOf(':');
            var field = colon > 0 ? word.substring(0, colon).toLowerCase(Locale.ROOT) : "";
            var value = colon > 0 ? word.substring(colon + 1) : word;
            switch (field) {
                case "repo" -> {
                    // One expression, that of the index jobs_by_repo (V20), so a page walks it newest first.
                    where.add(REPO_KEY + " = lower(:" + name + ")");
                    // A URL is taken as its owner/name, as the key is.
                    var key = value.replaceAll("(\\.git)?/*$", "");
                    var parts = key.split("[/:]");
                    params.put(name, parts.length > 2 ? parts[parts.length - 2] + "/" + parts[parts.length - 1] : key);
                }
                case "pr" -> {
                    if (!value.matches("\\d{1,10}")) {
                        throw new IllegalArgumentException(
                                "'pr:" + value + "' needs a pull request or issue number, e.g. pr:123");
                    }
                    // The expression of the index jobs_by_issue_number (V21): a page walks one number's jobs newest
                    // first.
                    where.add("payload -> 'github' ->> 'issue_number' = :" + name);
                    params.put(name, Long.toString(Long.parseLong(value))); // stored as a JSON number: 42, not 042
                }
                case "sha" -> {
                    if (!value.matches("[0-9a-fA-F]{4,64}")) {
                        throw new IllegalArgumentException(
                                "'sha:" + value + "' needs 4 to 64 hex digits of a commit, e.g. sha:abc123");
                    }
                    // Each key by prefix through its own index (V21); PostgreSQL ORs the few matches of each.
                    where.add(SHA_KEYS.stream()
                            .map(key -> key + " LIKE :" + name)
                            .collect(Collectors.joining(" OR ", "(", ")")));
                    params.put(name, value.toLowerCase(Locale.ROOT) + "%");
                }
                default -> {
                    // The error only: under encryption the payload's text is ciphertext. A trigram index (V21) finds
                    // the rows that may hold the word, so a word no error holds costs no scan.
                    where.add("last_error ILIKE :" + name);
                    params.put(name, "%" + escapeLike(word) + "%");
                }
            }
        }
    }

    private static String escapeLike(String text) {
        return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
    }

    private static JobRow row(ResultSet rs) throws SQLException {
        var pr = rs.getString("pull_request");
        return new JobRow(
                rs.getLong("id"),
                rs.getString("kind"),
                JobStatus.valueOf(rs.getString("status")),
                rs.getInt("attempt_count"),
                rs.getInt("max_attempts"),
                JobRepository.instant(rs, "run_at"),
                JobRepository.instant(rs, "created_at"),
                JobRepository.instant(rs, "started_at"),
                JobRepository.instant(rs, "finished_at"),
                rs.getString("last_error"),
                rs.getObject("retry_of") == null ? null : rs.getLong("retry_of"),
                rs.getString("repo"),
                pr != null && pr.matches("\\d{1,18}") ? Long.valueOf(pr) : null);
    }

    /** Instances not stopped, and those that stopped within the last hour (so a lost one is still seen). */
    public List<WorkerRow> instances() {
        return jdbc.sql("""
                        SELECT w.id, w.state, w.version, w.max_concurrent_jobs, w.started_at, w.heartbeat_at, w.kinds, w.unready_kinds,
                               (SELECT count(*) FROM jobs j WHERE j.status = 'RUNNING' AND j.worker_id = w.id) AS running
                          FROM workers w
                         WHERE w.state <> 'STOPPED' OR w.heartbeat_at > now() - interval '1 hour'
                         ORDER BY w.state, w.id""")
                .query((rs, n) -> new WorkerRow(
                        rs.getString("id"),
                        rs.getString("state"),
                        rs.getString("version"),
                        rs.getInt("max_concurrent_jobs"),
                        rs.getLong("running"),
                        JobRepository.instant(rs, "started_at"),
                        JobRepository.instant(rs, "heartbeat_at"),
                        texts(rs.getArray("kinds")),
                        texts(rs.getArray("unready_kinds"))))
                .list();
    }

    private static List<String> texts(java.sql.Array array) throws SQLException {
        return array == null ? null : List.of((String[]) array.getArray());
    }

    // A delivery is processed by the job keyed 'github-delivery:<id>', reprocessed by
    // 'github-delivery:<id>:reprocess:<n>';
    // it is dead when its latest job (n = reprocess_count) failed.
    private static final String FAILED_DELIVERIES = """
              FROM jobs j
              JOIN github_deliveries d ON d.delivery_id = split_part(j.dedup_key, ':', 2)
             WHERE j.status = 'FAILED' AND j.kind = 'github-delivery' AND j.dedup_key IS NOT NULL
               AND coalesce(nullif(split_part(j.dedup_key, ':', 4), ''), '0') = d.reprocess_count::text""";

    /** Webhook deliveries whose latest processing job failed, newest job first, at most {@code limit}, and their total. */
    public FailedDeliveries failedDeliveries(int limit) {
        var items = jdbc.sql("""
                        SELECT d.delivery_id, d.event, d.action, d.installation_id, d.received_at, j.id AS job_id,
                               left(coalesce(j.last_error, d.outcome), 500) AS error, j.finished_at
                        """ + FAILED_DELIVERIES + " ORDER BY j.id DESC LIMIT :limit")
                .param("limit", limit)
                .query((rs, n) -> new FailedDelivery(
                        rs.getString("delivery_id"),
                        rs.getString("event"),
                        rs.getString("action"),
                        (Long) rs.getObject("installation_id"),
                        JobRepository.instant(rs, "received_at"),
                        rs.getLong("job_id"),
                        rs.getString("error"),
                        JobRepository.instant(rs, "finished_at")))
                .list();
        var total = jdbc.sql("SELECT count(*) " + FAILED_DELIVERIES)
                .query(Long.class)
                .single();
        return new FailedDeliveries(total, items);
    }

    /** Those of {@code ids} a retry applies to now: failed or cancelled and not yet retried; in id order. */
    public List<Long> retryable(List<Long> ids) {
        return jdbc.sql("""
                        SELECT j.id FROM jobs j
                         WHERE j.id = ANY(:ids) AND j.status IN ('FAILED', 'CANCELLED')
                           AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.retry_of = j.id)
                         ORDER BY j.id""")
                .param("ids", new SqlArrayValue("int8", ids.toArray()))
                .query(Long.class)
                .list();
    }

    /** Those of {@code ids} a cancel applies to now: pending, or running and not already asked to stop; in id order. */
    public List<Long> cancellable(List<Long> ids) {
        return jdbc.sql("""
                        SELECT id FROM jobs
                         WHERE id = ANY(:ids) AND (status = 'PENDING' OR (status = 'RUNNING' AND NOT cancel_requested))
                         ORDER BY id""")
                .param("ids", new SqlArrayValue("int8", ids.toArray()))
                .query(Long.class)
                .list();
    }

    /** How many of {@code ids} are jobs. */
    public int existing(List<Long> ids) {
        return jdbc.sql("SELECT count(*) FROM jobs WHERE id = ANY(:ids)")
                .param("ids", new SqlArrayValue("int8", ids.toArray()))
                .query(Integer.class)
                .single();
    }

    /** The highest job id so far (0: none). */
    public long lastId() {
        return jdbc.sql("SELECT coalesce(max(id), 0) FROM jobs")
                .query(Long.class)
                .single();
    }

    /**
     * The jobs above {@code id}, by their minute of creation, read in one statement; the primary key range reads only
     * new rows.
     */
    public List<CreatedMinute> createdPerMinuteAfter(long id) {
        return jdbc.sql("""
                        SELECT date_trunc('minute', created_at) AS minute, count(*) AS n, max(id) AS last_id
                          FROM jobs WHERE id > :last GROUP BY 1""")
                .param("last", id)
                .query((rs, n) -> new CreatedMinute(
                        rs.getTimestamp("minute").toInstant(), rs.getLong("n"), rs.getLong("last_id")))
                .list();
    }

    /**
     * Jobs ended since the start of the minute {@code recent} before the current one (by {@code jobs_finished_at}),
     * by their minute of ending.
     */
    public List<FinishedMinute> finishedPerMinute(Duration recent) {
        return jdbc.sql("""
                        SELECT date_trunc('minute', finished_at) AS minute,
                               count(*) FILTER (WHERE status = 'SUCCEEDED') AS succeeded,
                               count(*) FILTER (WHERE status = 'FAILED') AS failed,
                               count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled
                          FROM jobs
                         WHERE finished_at >= date_trunc('minute', now()) - CAST(:recent AS interval)
                         GROUP BY 1""")
                .param("recent", recent.toSeconds() + " seconds")
                .query((rs, n) -> new FinishedMinute(
                        rs.getTimestamp("minute").toInstant(),
                        rs.getLong("succeeded"),
                        rs.getLong("failed"),
                        rs.getLong("cancelled")))
                .list();
    }

    /** Pending and running jobs now. */
    public Depth depth() {
        return jdbc.sql("""
                        SELECT (SELECT count(*) FROM jobs WHERE status = 'PENDING'),
                               (SELECT count(*) FROM jobs WHERE status = 'RUNNING')""")
                .query((rs, n) -> new Depth(rs.getLong(1), rs.getLong(2)))
                .single();
    }
}
