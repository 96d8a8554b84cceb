package io.bisectbot.api;

import static io.bisectbot.FinishedBisect.sha;
import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.FinishedBisect;
import io.bisectbot.JsonCalls;
import io.bisectbot.JsonCalls.Reply;
import io.bisectbot.TestDatabase;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code GET /job/{id}/bisect}: the rounds, runs and tallies of a bisect job, finished or running, and its report as safe HTML. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class BisectViewApiTest {

    static final String VIEWER = "viewer-token-of-the-bisect-view-test";
    private static final JsonMapper json = JsonMapper.builder().build();

    @LocalServerPort
    int port;

    @Autowired
    DataSource dataSource;

    @DynamicPropertySource
    static void settings(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.web.viewer-token", () -> VIEWER);
    }

    Reply get(String path, String token) throws Exception {
        return JsonCalls.send(port, "GET", path, null, token);
    }

    JdbcClient jdbc() {
        return JdbcClient.create(dataSource);
    }

    static List<String> texts(JsonNode array, String field) {
        var values = new ArrayList<String>();
        array.forEach(node ->
                values.add(field == null ? node.asString() : node.path(field).asString()));
        return values;
    }

    @Test
    void a_finished_flaky_bisection_shows_its_rounds_its_tallies_and_the_culprit_with_its_links() throws Exception {
        var job = FinishedBisect.insert(jdbc());
        var view = get("/job/" + job.id() + "/bisect", VIEWER);
        assertThat(view.status()).isEqualTo(200);
        var b = view.body();

        assertThat(b.get("candidate_count").asInt()).isEqualTo(8);
        assertThat(b.get("repeat").get("runs").asInt()).isEqualTo(3);
        assertThat(b.get("repeat").get("rule").asString()).isEqualTo("any-fail");
        var rounds = b.get("rounds");
        assertThat(rounds).hasSize(4);
        assertThat(rounds.get(0).get("commits_left").isNull())
                .as("round 0: the ends")
                .isTrue();
        assertThat(List.of(
                        rounds.get(1).get("commits_left").asInt(),
                        rounds.get(2).get("commits_left").asInt(),
                        rounds.get(3).get("commits_left").asInt()))
                .containsExactly(8, 4, 2);
        assertThat(texts(rounds.get(2).get("tested"), null)).containsExactly(sha(6));

        var steps = b.get("steps");
        assertThat(steps).hasSize(12);
        assertThat(steps.get(0).get("round").asInt()).isZero();
        assertThat(steps.get(7).get("commit").asString()).isEqualTo(sha(6));
        assertThat(steps.get(7).get("round").asInt()).isEqualTo(2);
        assertThat(steps.get(8).get("log").asString()).isEqualTo("search-" + sha(6).substring(0, 12) + "-run2");

        JsonNode culpritTally = null;
        for (var c : b.get("commits")) {
            if (c.get("commit").asString().equals(sha(6))) culpritTally = c;
        }
        assertThat(culpritTally).isNotNull();
        assertThat(culpritTally.get("passes").asInt()).isEqualTo(1);
        assertThat(culpritTally.get("failures").asInt()).isEqualTo(1);
        assertThat(culpritTally.get("verdict").asString()).isEqualTo("bad");

        var culprit = b.get("culprit");
        assertThat(culprit.get("sha").asString()).isEqualTo(sha(6));
        assertThat(culprit.get("subject").asString()).isEqualTo(FinishedBisect.CULPRIT_SUBJECT);
        assertThat(culprit.get("commit_url").asString()).isEqualTo("https://github.com/acme/widget/commit/" + sha(6));
        assertThat(texts(culprit.get("logs"), null))
                .containsExactly(
                        "search-" + sha(6).substring(0, 12) + "-run1", "search-" + sha(6).substring(0, 12) + "-run2");
        assertThat(b.get("report_url").asString()).isEqualTo("/job/" + job.id() + "/report");
    }

    @Test
    void the_report_is_html_with_every_tag_of_the_markdown_escaped_and_only_web_links() throws Exception {
        var job = FinishedBisect.insert(jdbc());
        var html = get("/job/" + job.id() + "/bisect", VIEWER)
                .body()
                .get("report_html")
                .asString();
        assertThat(html)
                .contains("<h2>First bad commit:")
                .contains("Parse &lt;b&gt;headers&lt;/b&gt; lazily")
                .contains("<table>")
                .contains("<details>")
                .contains("<summary>Steps (12 runs)</summary>")
                .contains("</details>")
                .contains("<a rel=\"noopener noreferrer\" href=\"https://github.com/acme/widget/commit/" + sha(6)
                        + "\">");
        assertThat(html)
                .doesNotContain("<script")
                .doesNotContain("<img")
                .doesNotContain("<b>")
                .doesNotContain("javascript:")
                .contains("&lt;script&gt;")
                .contains("&lt;img src=x onerror=alert(1)&gt;");
    }

    @Test
    void a_running_flaky_bisection_shows_the_runs_going_on_and_decides_verdicts_by_its_rule() throws Exception {
        var payload = json.createObjectNode()
                .put("repo", "https://gitlab.example.com/acme/widget.git")
                .put("bad", sha(8))
                .put("command", "make test")
                .put("repeat", 3)
                .put("repeat_rule", "any-fail");
        payload.putArray("good").add(sha(0));
        var id = jdbc().sql("""
                        INSERT INTO jobs (kind, status, payload, attempt_count, worker_id, heartbeat_at, claimed_at, started_at)
                        VALUES ('bisect', 'RUNNING', CAST(:payload AS jsonb), 2, 'elsewhere', now() + interval '1 hour', now(), now())
                        RETURNING id""")
                .param("payload", json.writeValueAsString(payload))
                .query(Long.class)
                .single();
        step(id, 0, sha(8), 0, "VERIFY", "BAD", 1);
        step(id, 1, sha(0), 0, "VERIFY", "GOOD", 0);
        step(id, 2, sha(0), 1, "VERIFY", "GOOD", 0);
        step(id, 3, sha(0), 2, "VERIFY", "GOOD", 0);
        step(id, 4, sha(4), 0, "SEARCH", "GOOD", 0);
        FinishedBisect.round(jdbc(), id, 0, null, null, List.of(sha(8), sha(0)), List.of());
        FinishedBisect.round(jdbc(), id, 1, 8, 3, List.of(sha(4)), List.of("search:" + sha(4) + ":1"));
        // A round an earlier attempt left: what it had running is not running now.
        jdbc().sql("UPDATE bisect_rounds SET attempt = 2 WHERE job_id = :id")
                .param("id", id)
                .update();
        FinishedBisect.round(jdbc(), id, 2, 4, 2, List.of(sha(6)), List.of("search:" + sha(6) + ":0"));

        var b = get("/job/" + id + "/bisect", VIEWER).body();
        assertThat(b.get("status").asString()).isEqualTo("RUNNING");
        assertThat(b.get("outcome").isNull()).isTrue();
        assertThat(b.get("culprit").isNull()).isTrue();
        assertThat(b.get("report_html").isNull()).isTrue();
        assertThat(b.get("candidate_count").asInt()).as("from round 1").isEqualTo(8);
        assertThat(b.get("running")).hasSize(1);
        assertThat(b.get("running").get(0).get("commit").asString()).isEqualTo(sha(4));
        assertThat(b.get("running").get(0).get("run").asInt()).isEqualTo(2);
        assertThat(b.get("running").get(0).get("round").asInt()).isEqualTo(1);
        assertThat(b.get("running").get(0).get("log").asString())
                .isEqualTo("search-" + sha(4).substring(0, 12) + "-run2");
        assertThat(b.get("steps")).hasSize(5);
        var verdicts = new java.util.HashMap<String, String>();
        b.get("commits")
                .forEach(c -> verdicts.put(
                        c.get("commit").asString(), c.get("verdict").asString(null)));
        // Under any-fail one failure is bad, three passes are good, and one pass of three decides nothing yet.
        assertThat(verdicts)
                .containsEntry(sha(8), "bad")
                .containsEntry(sha(0), "good")
                .containsEntry(sha(4), null);
    }

    @Test
    void only_bisect_jobs_have_a_bisection_and_a_viewer_token_is_needed() throws Exception {
        var other = jdbc().sql(
                        "INSERT INTO jobs (kind, status, run_at) VALUES ('noop', 'SUCCEEDED', now()) RETURNING id")
                .query(Long.class)
                .single();
        var reply = get("/job/" + other + "/bisect", VIEWER);
        assertThat(reply.status()).isEqualTo(404);
        assertThat(reply.body().get("error").asString()).contains("only bisect jobs");
        assertThat(get("/job/999999999/bisect", VIEWER).status()).isEqualTo(404);
        assertThat(get("/job/" + other + "/bisect", null).status()).isEqualTo(401);
    }

    private void step(long job, int seq, String commit, int runIndex, String purpose, String verdict, int exitCode) {
        jdbc().sql("""
                        INSERT INTO bisect_steps (job_id, seq, commit_sha, run_index, purpose, outcome, exit_code, verdict,
                                                  duration_ms, attempt, worker_id, recorded_at)
                        VALUES (:job, :seq, :commit, :run, :purpose, 'EXITED', :exit, :verdict, 40000, 1, 'elsewhere', now())""")
                .param("job", job)
                .param("seq", seq)
                .param("commit", commit)
                .param("run", runIndex)
                .param("purpose", purpose)
                .param("exit", exitCode)
                .param("verdict", verdict)
                .update();
    }
}
