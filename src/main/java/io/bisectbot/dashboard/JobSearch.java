package io.bisectbot.dashboard;

import io.bisectbot.queue.JobReads;
import io.bisectbot.queue.JobStatus;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The jobs list as the API takes it: the filter's parameters parsed and checked, then read by {@link JobReads}, newest
 * first, one page at a time by keyset ({@code id < after}). The search {@code q} is words: {@code repo:owner/name},
 * {@code pr:123}, {@code sha:abc123}, and free text matched in the error.
 */
final class JobSearch {

    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 200;

    /**
     * The query for the parameters as the API takes them: {@code status} comma-separated names in any case (none: all),
     * one {@code kind}, the search words {@code q}, one installation (its tenant), created in [{@code from}, {@code to})
     * given in ISO-8601, and the keyset position {@code after}. Throws {@link IllegalArgumentException} naming the
     * parameter that is wrong.
     */
    static JobReads.Search parse(
            String status, String kind, String q, Long installation, String from, String to, Long after, int limit) {
        var wanted = statuses(status);
        var since = time("from", from);
        var until = time("to", to);
        if (installation != null && installation < 1) {
            throw new IllegalArgumentException(
                    "'installation' must be a GitHub App installation id (1 or more), got " + installation);
        }
        if (since != null && until != null && !since.isBefore(until)) {
            throw new IllegalArgumentException("'from' (" + since + ") must be before 'to' (" + until + ")");
        }
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("'limit' must be between 1 and " + MAX_LIMIT + ", got " + limit);
        }
        if (after != null && after < 1) {
            throw new IllegalArgumentException("'after' must be a job id (1 or more), got " + after);
        }
        return new JobReads.Search(
                wanted,
                kind == null || kind.isBlank() ? null : kind.trim(),
                q == null || q.isBlank() ? null : q.trim(),
                installation,
                since,
                until,
                after,
                limit);
    }

    /** A time as the API takes it: ISO-8601 ({@code 2026-01-31T10:00:00Z}); null when absent. */
    private static Instant time(String name, String value) {
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
    private static List<JobStatus> statuses(String status) {
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

    private final JobReads reads;

    JobSearch(JobReads reads) {
        this.reads = reads;
    }

    JobReads.Page find(JobReads.Search search) {
        return reads.page(search);
    }

    /** The ids of the jobs matching {@code search} (its keyset position ignored), newest first, at most {@code max}. */
    List<Long> ids(JobReads.Search search, int max) {
        return reads.ids(search, max);
    }

    static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
