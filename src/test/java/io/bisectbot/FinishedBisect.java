package io.bisectbot;

import java.util.List;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.json.JsonMapper;

/**
 * A finished flaky-test bisection as the service stores it, written straight into the tables: eight commits between
 * good and bad, three runs per commit under any-fail, three rounds (8, 4 and 2 commits left) and the first bad commit
 * found. Its report carries markup and a script link, as a hostile commit subject or test output could.
 */
public final class FinishedBisect {

    public static final String REPO = "https://github.com/acme/widget.git";
    public static final String CULPRIT_SUBJECT = "Parse <b>headers</b> lazily";
    public static final String REPORT = """
            ## First bad commit: %s Parse &lt;b&gt;headers&lt;/b&gt; lazily

            - **Author:** Ada
            - <img src=x onerror=alert(1)> and [a link](javascript:alert(1)) and [the commit](https://github.com/acme/widget/commit/%s)

            <script>document.title = 'owned'</script>

            <details><summary>Steps (12 runs)</summary>

            | # | Commit | Verdict |
            |---|---|---|
            | 1 | %s | bad |

            </details>
            """;

    private static final JsonMapper json = JsonMapper.builder().build();

    private FinishedBisect() {}

    /** Commit {@code i} of the range: 0 is the good end, 8 the bad one. */
    public static String sha(int i) {
        return ("c" + i).repeat(20);
    }

    public record Inserted(long id, String culprit) {}

    public static Inserted insert(JdbcClient jdbc) {
        var payload = json.createObjectNode()
                .put("repo", REPO)
                .put("bad", sha(8))
                .put("command", "make test")
                .put("repeat", 3)
                .put("repeat_rule", "any-fail")
                .put("parallelism", 1);
        payload.putArray("good").add(sha(0));

        record Run(int commit, String purpose, String verdict) {}
        var runs = List.of(
                new Run(8, "verify", "bad"),
                new Run(0, "verify", "good"),
                new Run(0, "verify", "good"),
                new Run(0, "verify", "good"),
                new Run(4, "search", "good"),
                new Run(4, "search", "good"),
                new Run(4, "search", "good"),
                new Run(6, "search", "good"),
                new Run(6, "search", "bad"),
                new Run(5, "search", "good"),
                new Run(5, "search", "good"),
                new Run(5, "search", "good"));
        var result = json.createObjectNode();
        var outcome = result.putObject("outcome").put("type", "first_bad");
        outcome.putObject("commit")
                .put("sha", sha(6))
                .put("subject", CULPRIT_SUBJECT)
                .put("author", "Ada <ada@example.com>")
                .put("date", "2026-11-30T10:00:00Z");
        result.put("first_bad_commit", sha(6))
                .put("bad", sha(8))
                .put("candidate_count", 8)
                .put("rounds", 3);
        result.putArray("good").add(sha(0));
        var steps = result.putArray("steps");
        var perCommit = new java.util.LinkedHashMap<Integer, int[]>();
        for (int i = 0; i < runs.size(); i++) {
            var r = runs.get(i);
            var counts = perCommit.computeIfAbsent(r.commit(), c -> new int[2]);
            var run = counts[0] + counts[1] + 1;
            if (r.verdict().equals("good")) counts[0]++;
            else counts[1]++;
            steps.addObject()
                    .put("seq", i + 1)
                    .put("commit", sha(r.commit()))
                    .put("subject", "Change " + r.commit())
                    .put("run", run)
                    .put("purpose", r.purpose())
                    .put("outcome", "exited")
                    .put("exit_code", r.verdict().equals("good") ? 0 : 1)
                    .put("verdict", r.verdict())
                    .put("duration_ms", 41_000 + i * 1000)
                    .put("reused", false);
        }
        var commits = result.putArray("commits");
        perCommit.forEach((c, counts) -> commits.addObject()
                .put("commit", sha(c))
                .put("verdict", counts[1] > 0 ? "bad" : "good")
                .put("passes", counts[0])
                .put("failures", counts[1])
                .put("disagreements", counts[0] > 0 && counts[1] > 0 ? Math.min(counts[0], counts[1]) : 0));
        result.put("report", REPORT.formatted(sha(6).substring(0, 12), sha(6), sha(8)));

        var id = jdbc.sql("""
                        INSERT INTO jobs (kind, status, payload, result, attempt_count, max_attempts, run_at, started_at, finished_at)
                        VALUES ('bisect', 'SUCCEEDED', CAST(:payload AS jsonb), CAST(:result AS jsonb), 1, 3,
                                now() - interval '20 minutes', now() - interval '19 minutes', now() - interval '2 minutes')
                        RETURNING id""")
                .param("payload", json.writeValueAsString(payload))
                .param("result", json.writeValueAsString(result))
                .query(Long.class)
                .single();
        round(jdbc, id, 0, null, null, List.of(sha(8), sha(0)), List.of());
        round(jdbc, id, 1, 8, 3, List.of(sha(4)), List.of());
        round(jdbc, id, 2, 4, 2, List.of(sha(6)), List.of());
        round(jdbc, id, 3, 2, 1, List.of(sha(5)), List.of());
        return new Inserted(id, sha(6));
    }

    /** A round of job {@code id} as the running job writes it; {@code running} as 'purpose:sha:run index'. */
    public static void round(
            JdbcClient jdbc,
            long id,
            int round,
            Integer left,
            Integer toGo,
            List<String> tested,
            List<String> running) {
        jdbc.sql("""
                        INSERT INTO bisect_rounds (job_id, round, commits_left, rounds_to_go, attempt, started_at, tested, running)
                        VALUES (:id, :round, :left, :to_go, 1, now() - make_interval(mins => 20 - :round), :tested, :running)""")
                .param("id", id)
                .param("round", round)
                .param("left", left)
                .param("to_go", toGo)
                .param("tested", new org.springframework.jdbc.support.SqlArrayValue("text", tested.toArray()))
                .param("running", new org.springframework.jdbc.support.SqlArrayValue("text", running.toArray()))
                .update();
    }
}
