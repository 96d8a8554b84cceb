package io.bisectbot.dashboard;

import io.bisectbot.queue.JobStatus;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The jobs list: newest first, one page at a time by keyset ({@code id < after}), so a page costs the same however
 * deep it is. The search {@code q} is words: {@code repo:owner/name}, {@code pr:123}, {@code sha:abc123}, and free
 * text matched in the error. Each word reads only what a sealed payload keeps in the clear ({@code Column.JOB_PAYLOAD})
 * or {@code last_error}, through an index of V20 or V21 written with the same expression.
 */
final class JobSearch {

    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 200;
    private static final Pattern WORD = Pattern.compile("\\S+");

    /** One row of the list: enough to recognise a job without opening it. */
    record JobRow(
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
    record Page(List<JobRow> jobs, Long nextAfter) {}

    /**
     * What the list shows: any of {@code statuses} (none: all), one kind, the search words, one installation (its
     * tenant), created in [{@code from}, {@code to}), and the keyset position {@code after}.
     */
    record Filter(
            List<JobStatus> statuses,
            String kind,
            String q,
            Long installation,
            Instant from,
            Instant to,
            Long after,
            int limit) {
        Filter {
            statuses = statuses == null ? List.of() : List.copyOf(statuses);
            kind = kind == null || kind.isBlank() ? null : kind.trim();
            q = q == null || q.isBlank() ? null : q.trim();
            if (installation != null && installation < 1) {
                throw new IllegalArgumentException(
                        "'installation' must be a GitHub App installation id (1 or more), got " + installation);
            }
            if (from != null && to != null && !from.isBefore(to)) {
                throw new IllegalArgumentException("'from' (" + from + ") must be before 'to' (" + to + ")");
            }
            if (limit < 1 || limit > MAX_LIMIT) {
                throw new IllegalArgumentException("'limit' must be between 1 and " + MAX_LIMIT + ", got " + limit);
            }
            if (after != null && after < 1) {
                throw new IllegalArgumentException("'after' must be a job id (1 or more), got " + after);
            }
        }

        Filter(List<JobStatus> statuses, String kind, String q, Long after, int limit) {
            this(statuses, kind, q, null, null, null, after, limit);
        }

        /** The same filter from its first page, {@code limit} rows at most. */
        Filter firstPages(int rows) {
            return new Filter(statuses, kind, q, installation, from, to, null, rows);
        }

        /** A time as the API takes it: ISO-8601 ({@code 2026-01-31T10:00:00Z}); null when absent. */
        static Instant time(String name, String value) {
            if (value == null || value.isBlank()) {
                return null;
            }
            try {
                return Instant.parse(value.trim());
            } catch (java.time.format.DateTimeParseException e) {
                throw new IllegalArgumentException(
                        "'" + name + "' must be an ISO-8601 time such as 2026-01-31T10:00:00Z, got '" + value + "'");
            }
        }

        /** {@code status} as given: comma-separated names, any case. */
        static List<JobStatus> statuses(String status) {
            if (status == null || status.isBlank()) {
                return List.of();
            }
            var result = new ArrayList<JobStatus>();
            for (var name : status.split(",")) {
                if (name.isBlank()) {
                    continue;
                }
                try {
                    result.add(JobStatus.valueOf(name.trim().toUpperCase(Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(
                            "'status' " + name.trim() + " is not a job status; use one or more of "
                                    + Arrays.toString(JobStatus.values()) + ", comma-separated");
                }
            }
            return result;
        }
    }

    private final JdbcClient jdbc;

    JobSearch(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    Page find(Filter filter) {
        var where = new ArrayList<String>();
        var params = new LinkedHashMap<String, Object>();
        where(filter, where, params);
        var sql = """
                SELECT id, kind, status, attempt_count, max_attempts, run_at, created_at, started_at, finished_at,
                       left(last_error, 300) AS last_error, retry_of,
                       coalesce((payload -> 'github' ->> 'owner') || '/' || (payload -> 'github' ->> 'repo'), payload ->> 'repo') AS repo,
                       payload -> 'github' ->> 'issue_number' AS pull_request
                  FROM jobs""" + (where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where))
                + " ORDER BY id DESC LIMIT :limit";
        params.put("limit", filter.limit() + 1);
        var rows = jdbc.sql(sql).params(params).query((rs, n) -> row(rs)).list();
        if (rows.size() > filter.limit()) {
            var page = rows.subList(0, filter.limit());
            return new Page(List.copyOf(page), page.getLast().id());
        }
        return new Page(rows, null);
    }

    /** The ids of the jobs matching {@code filter} (its keyset position ignored), newest first, at most {@code max}. */
    List<Long> ids(Filter filter, int max) {
        var where = new ArrayList<String>();
        var params = new LinkedHashMap<String, Object>();
        where(filter.firstPages(1), where, params);
        params.put("max", max);
        return jdbc.sql("SELECT id FROM jobs" + (where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where))
                        + " ORDER BY id DESC LIMIT :max")
                .params(params)
                .query(Long.class)
                .list();
    }

    private void where(Filter filter, List<String> where, Map<String, Object> params) {
        if (filter.after() != null) {
            where.add("id < :after");
            params.put("after", filter.after());
        }
        if (!filter.statuses().isEmpty()) {
            where.add("status IN (:statuses)");
            params.put("statuses", filter.statuses().stream().map(Enum::name).toList());
        }
        if (filter.kind() != null) {
            where.add("kind = :kind");
            params.put("kind", filter.kind());
        }
        if (filter.q() != null) {
            addSearch(filter.q(), where, params);
        }
        if (filter.installation() != null) {
            where.add("tenant = :tenant");
            params.put("tenant", "installation:" + filter.installation());
        }
        // Ids are taken in time order, so a time range is also an id range (found by a few primary-key probes); the
        // id bound lets the newest-first walk start and stop near the range instead of at the newest job.
        if (filter.from() != null) {
            where.add("id >= :from_id AND created_at >= :from");
            params.put("from_id", firstIdAtOrAfter(filter.from()) - ID_SLACK);
            params.put("from", java.sql.Timestamp.from(filter.from()));
        }
        if (filter.to() != null) {
            where.add("id < :to_id AND created_at < :to");
            params.put("to_id", firstIdAtOrAfter(filter.to()) + ID_SLACK);
            params.put("to", java.sql.Timestamp.from(filter.to()));
        }
    }

    /**
     * Ids of concurrent inserts may be a little out of created_at order; the bound is widened by this many ids and the
     * created_at condition decides exactly.
     */
    private static final long ID_SLACK = 1000;

    /** The smallest id whose job was created at or after {@code t} (binary search over the primary key). */
    private long firstIdAtOrAfter(Instant t) {
        var bounds = jdbc.sql("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM jobs")
                .query((rs, n) -> new long[] {rs.getLong(1), rs.getLong(2)})
                .single();
        long lo = bounds[0];
        long hi = bounds[1] + 1; // created_at of every id >= hi counts as "after"
        var at = java.sql.Timestamp.from(t);
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
                            .collect(java.util.stream.Collectors.joining(" OR ", "(", ")")));
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
                instant(rs, "run_at"),
                instant(rs, "created_at"),
                instant(rs, "started_at"),
                instant(rs, "finished_at"),
                rs.getString("last_error"),
                rs.getObject("retry_of") == null ? null : rs.getLong("retry_of"),
                rs.getString("repo"),
                pr != null && pr.matches("\\d{1,18}") ? Long.valueOf(pr) : null);
    }

    static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
