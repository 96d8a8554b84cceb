package io.bisectbot.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class HttpApiTest {

    static final String TOKEN = "test-admin-token";
    private static final JsonMapper json = JsonMapper.builder().build();
    private final HttpClient http = HttpClient.newHttpClient();

    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.web.admin-token", () -> "previous-token, " + TOKEN);
    }

    record Reply(int status, JsonNode body, String text) {}

    Reply send(String method, String path, String body, String token) throws Exception {
        var request = HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        var response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode parsed = null;
        try {
            parsed = json.readTree(response.body());
        } catch (RuntimeException ignored) {
            // Not JSON (metrics).
        }
        return new Reply(response.statusCode(), parsed, response.body());
    }

    @Test
    void health_reports_the_database_and_counts_but_nothing_about_jobs_or_the_host() throws Exception {
        var reply = send("GET", "/health", null, null);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.body().get("status").asString()).isIn("ok", "degraded");
        assertThat(reply.body().get("database").asString()).isEqualTo("up");
        assertThat(reply.body().has("docker_available")).isTrue();
        assertThat(reply.body().get("running_jobs").isInt()).isTrue();
        assertThat(reply.body().get("draining").asBoolean()).isFalse();
        assertThat(reply.body().propertyNames())
                .containsExactlyInAnyOrder(
                        "status",
                        "database",
                        "docker_available",
                        "running_jobs",
                        "draining",
                        "liveness",
                        "clock_offset_ms");
        assertThat(reply.body().get("liveness").asString()).isEqualTo("lock");
    }

    @Test
    void an_enqueued_job_runs_and_shows_its_history() throws Exception {
        var created = send("POST", "/jobs", "{\"kind\":\"sleep\",\"payload\":{\"millis\":50}}", TOKEN);
        assertThat(created.status()).isEqualTo(201);
        var id = created.body().get("id").asLong();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> send("GET", "/job/" + id, null, TOKEN)
                        .body()
                        .get("status")
                        .asString()
                        .equals("SUCCEEDED"));
        var job = send("GET", "/job/" + id, null, TOKEN).body();
        assertThat(job.get("attempt_count").asInt()).isEqualTo(1);
        assertThat(job.get("worker_id").asString()).isNotBlank();
        assertThat(job.get("result").get("slept_ms").asInt()).isEqualTo(50);
        assertThat(job.get("events")).extracting(e -> e.get("type").asString()).containsExactly("claimed", "succeeded");
    }

    @Test
    void a_dedup_key_returns_the_existing_job_with_200() throws Exception {
        var body = "{\"kind\":\"sleep\",\"payload\":{\"millis\":1},\"dedup_key\":\"http-dedup\"}";
        var first = send("POST", "/jobs", body, TOKEN);
        var second = send("POST", "/jobs", body, TOKEN);
        assertThat(first.status()).isEqualTo(201);
        assertThat(second.status()).isEqualTo(200);
        assertThat(second.body().get("id").asLong())
                .isEqualTo(first.body().get("id").asLong());
    }

    @Test
    void bad_enqueue_requests_get_400_with_a_reason() throws Exception {
        var unknown = send("POST", "/jobs", "{\"kind\":\"nonsense\"}", TOKEN);
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.body().get("error").asString()).contains("unknown job kind 'nonsense'");
        var malformed = send("POST", "/jobs", "{\"kind\":", TOKEN);
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.body().get("error").asString()).contains("not valid JSON");
        var noKind = send("POST", "/jobs", "{}", TOKEN);
        assertThat(noKind.status()).isEqualTo(400);
        var badPayload = send("POST", "/jobs", "{\"kind\":\"sleep\",\"payload\":[1]}", TOKEN);
        assertThat(badPayload.status()).isEqualTo(400);
        var badAttempts = send("POST", "/jobs", "{\"kind\":\"sleep\",\"max_attempts\":0}", TOKEN);
        assertThat(badAttempts.status()).isEqualTo(400);
        assertThat(badAttempts.body().get("error").asString()).contains("max_attempts");
    }

    @Test
    void admin_endpoints_need_the_token() throws Exception {
        var missing = send("POST", "/jobs", "{\"kind\":\"noop\"}", null);
        assertThat(missing.status()).isEqualTo(401);
        assertThat(missing.body().get("error").asString()).contains("Authorization");
        assertThat(send("GET", "/job/1", null, null).status()).isEqualTo(401);
        var wrong = send("POST", "/jobs", "{\"kind\":\"noop\"}", "nope");
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(send("POST", "/jobs/1/cancel", null, "nope").status()).isEqualTo(401);
        assertThat(send("POST", "/jobs/1/retry", null, null).status()).isEqualTo(401);
        // During a rotation both tokens work.
        assertThat(send("POST", "/jobs", "{\"kind\":\"noop\"}", "previous-token")
                        .status())
                .isEqualTo(201);
    }

    @Test
    void unknown_or_malformed_job_ids_get_404_and_400() throws Exception {
        var unknown = send("GET", "/job/987654", null, TOKEN);
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.body().get("error").asString()).isEqualTo("job 987654 does not exist");
        var malformed = send("GET", "/job/abc", null, TOKEN);
        assertThat(malformed.status()).isEqualTo(400);
        assertThat(malformed.body().get("error").asString()).contains("'abc'");
        assertThat(send("POST", "/jobs/987654/cancel", null, TOKEN).status()).isEqualTo(404);
        assertThat(send("POST", "/jobs/987654/retry", null, TOKEN).status()).isEqualTo(404);
        var noRoute = send("GET", "/no/such/thing", null, null);
        assertThat(noRoute.status()).isEqualTo(404);
        assertThat(noRoute.body().get("error").asString()).isNotBlank();
    }

    @Test
    void cancel_and_retry_over_http() throws Exception {
        var later = send("POST", "/jobs", "{\"kind\":\"sleep\",\"run_at\":\"2099-01-01T00:00:00Z\"}", TOKEN);
        var id = later.body().get("id").asLong();
        var retryTooEarly = send("POST", "/jobs/" + id + "/retry", null, TOKEN);
        assertThat(retryTooEarly.status()).isEqualTo(409);
        assertThat(retryTooEarly.body().get("error").asString()).contains("only FAILED or CANCELLED");

        var cancelled = send("POST", "/jobs/" + id + "/cancel", null, TOKEN);
        assertThat(cancelled.status()).isEqualTo(200);
        assertThat(cancelled.body().get("status").asString()).isEqualTo("CANCELLED");

        var retried = send("POST", "/jobs/" + id + "/retry", null, TOKEN);
        assertThat(retried.status()).isEqualTo(201);
        assertThat(retried.body().get("retry_of").asLong()).isEqualTo(id);
        assertThat(retried.body().get("status").asString()).isEqualTo("PENDING");
    }

    @Test
    void cancelling_a_finished_job_is_a_conflict() throws Exception {
        var id = send("POST", "/jobs", "{\"kind\":\"noop\"}", TOKEN)
                .body()
                .get("id")
                .asLong();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> send("GET", "/job/" + id, null, TOKEN)
                        .body()
                        .get("status")
                        .asString()
                        .equals("SUCCEEDED"));
        var reply = send("POST", "/jobs/" + id + "/cancel", null, TOKEN);
        assertThat(reply.status()).isEqualTo(409);
        assertThat(reply.body().get("error").asString()).contains("already ended SUCCEEDED");
    }

    @Test
    void stats_count_jobs_by_state() throws Exception {
        var stats = send("GET", "/stats", null, TOKEN);
        assertThat(stats.status()).isEqualTo(200);
        assertThat(stats.body().propertyNames())
                .contains(
                        "pending",
                        "running",
                        "completed",
                        "failed",
                        "cancelled",
                        "running_on_this_instance",
                        "workers_alive",
                        "oldest_pending_age_seconds",
                        "github_outbox");
        assertThat(stats.body().get("github_outbox").propertyNames()).contains("pending", "dead");
        assertThat(stats.body().get("workers_alive").asLong()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void metrics_expose_the_queue_series_for_prometheus() throws Exception {
        var id = send("POST", "/jobs", "{\"kind\":\"noop\"}", TOKEN)
                .body()
                .get("id")
                .asLong();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> send("GET", "/job/" + id, null, TOKEN)
                        .body()
                        .get("status")
                        .asString()
                        .equals("SUCCEEDED"));
        var metrics = send("GET", "/metrics", null, TOKEN);
        assertThat(metrics.status()).isEqualTo(200);
        assertThat(metrics.text())
                .contains(
                        "bisectbot_jobs_enqueued_total{",
                        "bisectbot_jobs_claimed_total{",
                        "bisectbot_jobs_succeeded_total{",
                        "bisectbot_job_claim_duration_seconds_bucket",
                        "bisectbot_job_run_duration_seconds_bucket",
                        "bisectbot_queue_depth",
                        "bisectbot_queue_oldest_pending_age_seconds",
                        "bisectbot_workers_alive");
    }
}
