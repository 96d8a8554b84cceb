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

        /** The query the filter asks for. */
        JobReads.Search search() {
            return new JobReads.Search(statuses, kind, q, installation, from, to, after, limit);
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

    private final JobReads reads;

    JobSearch(JobReads reads) {
        this.reads = reads;
    }

    JobReads.Page find(Filter filter) {
        return reads.page(filter.search());
    }

    /** The ids of the jobs matching {@code filter} (its keyset position ignored), newest first, at most {@code max}. */
    List<Long> ids(Filter filter, int max) {
        return reads.ids(filter.search(), max);
    }

    static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
