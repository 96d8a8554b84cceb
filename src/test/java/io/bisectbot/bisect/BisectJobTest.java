package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/** A bisect job end to end: HTTP request, queue, real git repository, real containers, stored steps, report. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class BisectJobTest {

    private static final String TOKEN = "bisect-test-token";
    private static final JsonMapper json = JsonMapper.builder().build();
    private final HttpClient http = HttpClient.newHttpClient();

    @LocalServerPort
    int port;

    @TempDir
    Path repo;

    @DynamicPropertySource
    static void settings(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.web.admin-token", () -> TOKEN);
        registry.add("bisectbot.bisect.allow-local-repos", () -> "true");
        registry.add(
                "bisectbot.executor.default-image",
                () -> System.getenv().getOrDefault("LOCALCI_RUNNER_IMAGE", "debian:bookworm"));
    }

    private HttpResponse<String> post(String path, JsonNode body, String token) throws Exception {
        var request = HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body)));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                        .header("Authorization", "Bearer " + TOKEN)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void a_bisect_job_finds_the_first_bad_commit_in_containers_and_reports_it() throws Exception {
        var shas = TestRepos.linear(repo, 24, 17, 0);
        var body = JsonNodeFactory.instance
                .objectNode()
                .put("repo", repo.toString())
                .put("bad", "main")
                .put("command", "sh test.sh")
                .put("parallelism", 2);
        body.putArray("good").add(shas.getFirst());

        var created = post("/bisect", body, TOKEN);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        var id = json.readTree(created.body()).get("id").asLong();

        await().atMost(Duration.ofMinutes(2))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> json.readTree(get("/job/" + id).body())
                        .get("status")
                        .asString()
                        .matches("SUCCEEDED|FAILED"));
        var job = json.readTree(get("/job/" + id).body());
        assertThat(job.get("status").asString()).as(job.toString()).isEqualTo("SUCCEEDED");
        var outcome = job.get("result").get("outcome");
        assertThat(outcome.get("type").asString()).isEqualTo("first_bad");
        assertThat(outcome.get("commit").get("sha").asString()).isEqualTo(shas.get(17));
        assertThat(outcome.get("commit").get("subject").asString()).isEqualTo("change 17");
        assertThat(job.get("result").get("test_runs").asInt()).isBetween(1, 10);

        var report = get("/job/" + id + "/report");
        assertThat(report.statusCode()).isEqualTo(200);
        assertThat(report.headers().firstValue("Content-Type").orElse("")).startsWith("text/markdown");
        assertThat(report.body()).contains(shas.get(17).substring(0, 7)).contains("git bisect run");

        var steps = json.readTree(get("/job/" + id + "/logs").body()).get("steps");
        assertThat(steps.size()).isGreaterThanOrEqualTo(2);
        var firstStep = steps.get(0).get("step").asString();
        var log = json.readTree(get("/job/" + id + "/logs/" + firstStep).body());
        assertThat(log.get("chunks").toString()).contains("testing v");
    }

    @Test
    void a_job_that_opts_into_the_verdict_cache_reuses_the_runs_of_an_earlier_job_and_runs_no_container()
            throws Exception {
        var shas = TestRepos.linear(repo, 12, 5, 0);
        var body = JsonNodeFactory.instance
                .objectNode()
                .put("repo", repo.toString())
                .put("bad", "main")
                .put("command", "sh test.sh")
                .put("verdict_cache", true);
        body.putArray("good").add(shas.getFirst());

        var first = finishedJob(post("/bisect", body, TOKEN));
        var second = finishedJob(post("/bisect", body, TOKEN));

        assertThat(first.get("result").get("outcome").get("commit").get("sha").asString())
                .isEqualTo(shas.get(5));
        assertThat(second.get("result").get("outcome"))
                .isEqualTo(first.get("result").get("outcome"));
        assertThat(json.readTree(get("/job/" + first.get("id").asLong() + "/logs")
                                .body())
                        .get("steps")
                        .size())
                .isPositive();
        assertThat(json.readTree(get("/job/" + second.get("id").asLong() + "/logs")
                                .body())
                        .get("steps")
                        .size())
                .as("no step of the second job ran in a container")
                .isZero();
    }

    @Test
    void a_metric_job_finds_the_commit_that_made_the_printed_number_thirty_percent_worse_and_serves_its_chart()
            throws Exception {
        var shas = TestRepos.metric(repo, 12, 7);
        var body = JsonNodeFactory.instance
                .objectNode()
                .put("repo", repo.toString())
                .put("bad", "main")
                .put("command", "sh perf.sh")
                .put("mode", "metric")
                .put("parallelism", 2);
        body.putArray("good").add(shas.getFirst());

        var job = finishedJob(post("/bisect", body, TOKEN));
        var result = job.get("result");
        assertThat(result.get("first_bad_commit").asString())
                .as(result.get("report").asString())
                .isEqualTo(shas.get(7));
        assertThat(result.get("metric").get("at_culprit").get("change").asDouble())
                .isBetween(0.15, 0.45);
        assertThat(result.get("steps").get(0).get("metric").isNumber()).isTrue();
        var chart = get("/job/" + job.get("id").asLong() + "/chart.svg");
        assertThat(chart.statusCode()).isEqualTo(200);
        assertThat(chart.headers().firstValue("Content-Type").orElse("")).startsWith("image/svg+xml");
        assertThat(chart.body()).startsWith("<svg");
    }

    private JsonNode finishedJob(HttpResponse<String> created) throws Exception {
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        var id = json.readTree(created.body()).get("id").asLong();
        await().atMost(Duration.ofMinutes(2))
                .pollInterval(Duration.ofMillis(300))
                .until(() -> json.readTree(get("/job/" + id).body())
                        .get("status")
                        .asString()
                        .matches("SUCCEEDED|FAILED"));
        var job = json.readTree(get("/job/" + id).body());
        assertThat(job.get("status").asString()).as(job.toString()).isEqualTo("SUCCEEDED");
        return job;
    }

    @Test
    void an_invalid_bisect_request_is_refused_with_what_to_fix() throws Exception {
        var noCommand = JsonNodeFactory.instance
                .objectNode()
                .put("repo", repo.toString())
                .put("bad", "main")
                .put("good", "v1");
        var reply = post("/bisect", noCommand, TOKEN);
        assertThat(reply.statusCode()).isEqualTo(400);
        assertThat(json.readTree(reply.body()).get("error").asString()).contains("'command' is required");

        var badRef = JsonNodeFactory.instance
                .objectNode()
                .put("repo", repo.toString())
                .put("bad", "--upload-pack=x")
                .put("good", "v1")
                .put("command", "true");
        assertThat(json.readTree(post("/bisect", badRef, TOKEN).body())
                        .get("error")
                        .asString())
                .contains("not a valid git ref");

        var tooParallel = JsonNodeFactory.instance
                .objectNode()
                .put("repo", repo.toString())
                .put("bad", "main")
                .put("good", "v1")
                .put("command", "true")
                .put("parallelism", 99);
        assertThat(json.readTree(post("/bisect", tooParallel, TOKEN).body())
                        .get("error")
                        .asString())
                .contains("'parallelism' must be");

        assertThat(post("/bisect", noCommand, null).statusCode()).isEqualTo(401);
    }

    @Test
    void unknown_refs_fail_the_job_at_once_with_a_clear_error() throws Exception {
        TestRepos.linear(repo, 3, 2, 0);
        var body = JsonNodeFactory.instance
                .objectNode()
                .put("repo", repo.toString())
                .put("bad", "main")
                .put("good", "no-such-tag")
                .put("command", "sh test.sh");
        var id = json.readTree(post("/bisect", body, TOKEN).body()).get("id").asLong();
        await().atMost(Duration.ofSeconds(60))
                .until(() -> json.readTree(get("/job/" + id).body())
                        .get("status")
                        .asString()
                        .equals("FAILED"));
        var job = json.readTree(get("/job/" + id).body());
        assertThat(job.get("attempt_count").asInt())
                .as("a bad ref is not retried")
                .isEqualTo(1);
        assertThat(job.get("last_error").asString()).contains("no-such-tag");
        assertThat(get("/job/" + id + "/report").statusCode()).isEqualTo(409);
    }
}
