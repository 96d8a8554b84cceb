package io.bisectbot.bisect;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Locale;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * What a bisect job has done so far, as stored while it runs: its finished runs ({@code bisect_steps}) and its rounds
 * ({@code bisect_rounds}). Read only, for the job's page; a finished job's result holds the same runs with more detail.
 */
public final class BisectHistory {

    /**
     * One finished run of the job.
     *
     * @param run     1 for a commit's first run
     * @param verdict good, bad or skip; null when the run said nothing about the commit
     * @param metric  the number the run printed, in metric mode
     */
    public record Step(
            int seq,
            String commit,
            int run,
            String purpose,
            String outcome,
            Integer exitCode,
            String message,
            String verdict,
            long durationMs,
            Double metric,
            int attempt,
            Instant recordedAt) {}

    /**
     * One round as it started: round 0 holds the runs before the search.
     *
     * @param commitsLeft commits that might still be the first bad one (null for round 0)
     * @param tested      commits whose runs started in the round, in that order
     * @param running     runs going on now (when {@code attempt} is the job's current one)
     */
    public record Round(
            int round,
            Integer commitsLeft,
            Integer roundsToGo,
            int attempt,
            Instant startedAt,
            List<String> tested,
            List<Run> running) {}

    /** A run going on: its commit, 1 for the first run of it, and why it is tested. */
    public record Run(String commit, int run, String purpose) {}

    private final JdbcClient jdbc;

    public BisectHistory(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** The job's own runs in the order they ended (not those a retry took over from the job it retries). */
    public List<Step> steps(long jobId) {
        return jdbc.sql("SELECT * FROM bisect_steps WHERE job_id = :job ORDER BY seq")
                .param("job", jobId)
                .query((rs, n) -> new Step(
                        rs.getInt("seq"),
                        rs.getString("commit_sha"),
                        rs.getInt("run_index") + 1,
                        lower(rs.getString("purpose")),
                        lower(rs.getString("outcome")),
                        (Integer) rs.getObject("exit_code"),
                        rs.getString("message"),
                        lower(rs.getString("verdict")),
                        rs.getLong("duration_ms"),
                        (Double) rs.getObject("metric"),
                        rs.getInt("attempt"),
                        instant(rs, "recorded_at")))
                .list();
    }

    public List<Round> rounds(long jobId) {
        return jdbc.sql("SELECT * FROM bisect_rounds WHERE job_id = :job ORDER BY round")
                .param("job", jobId)
                .query((rs, n) -> new Round(
                        rs.getInt("round"),
                        (Integer) rs.getObject("commits_left"),
                        (Integer) rs.getObject("rounds_to_go"),
                        rs.getInt("attempt"),
                        instant(rs, "started_at"),
                        List.of((String[]) rs.getArray("tested").getArray()),
                        runs((String[]) rs.getArray("running").getArray())))
                .list();
    }

    /**
     * The name of a run's step log ({@code GET /job/{id}/logs/{step}}).
     *
     * @param run 1 for the commit's first run
     */
    public static String stepName(String commit, int run, String purpose) {
        return DockerStepRunner.stepName(
                new StepRunner.Request(commit, run - 1, Purpose.valueOf(purpose.toUpperCase(Locale.ROOT))));
    }

    /**
     * A commit's verdict from its runs so far under the job's repeat rule, as the search counts it; null while more
     * runs are needed.
     *
     * @param rule all-fail, any-fail or majority (null: all-fail, the default)
     */
    public static String verdict(int passes, int failures, boolean skipped, int repeat, String rule) {
        var parsed = rule == null || rule.isBlank()
                ? BisectOptions.RepeatRule.ALL_FAIL
                : BisectOptions.RepeatRule.valueOf(
                        rule.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        var tally = new VerdictTally(Math.max(1, repeat), parsed);
        for (int i = 0; i < passes; i++) tally.add(Verdict.GOOD);
        for (int i = 0; i < failures; i++) tally.add(Verdict.BAD);
        if (skipped) tally.add(Verdict.SKIP);
        var verdict = tally.verdict();
        return verdict == null ? null : verdict.name().toLowerCase(Locale.ROOT);
    }

    private static List<Run> runs(String[] keys) {
        return java.util.Arrays.stream(keys)
                .map(key -> key.split(":", 3))
                .filter(parts -> parts.length == 3)
                .map(parts -> new Run(parts[1], Integer.parseInt(parts[2]) + 1, parts[0]))
                .toList();
    }

    private static String lower(String value) {
        return value == null ? null : value.toLowerCase(Locale.ROOT);
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        var value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }
}
