package io.bisectbot.callbacks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.JsonCalls;
import io.bisectbot.JsonCalls.Reply;
import io.bisectbot.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Callbacks through the HTTP API and a real worker: asked for with the job, sent when it ends, shown on it, replayed. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class CallbackApiTest {

    static final String ADMIN = "admin-token-of-the-callback-test";
    static final String OPERATOR = "operator-token-of-the-callback-test";
    static final String SECRET = "secret-of-the-callback-api-test";
    private static final JsonMapper json = JsonMapper.builder().build();
    private static Receiver receiver;

    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void settings(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.web.admin-token", () -> ADMIN);
        registry.add("bisectbot.web.operator-token", () -> OPERATOR);
        registry.add("bisectbot.callbacks.secrets", () -> SECRET);
        registry.add("bisectbot.callbacks.allowed-hosts", () -> "127.0.0.1");
        registry.add("bisectbot.callbacks.backoff-base", () -> "50ms");
        registry.add("bisectbot.callbacks.backoff-max", () -> "200ms");
        registry.add("bisectbot.callbacks.poll-interval", () -> "100ms");
    }

    @BeforeAll
    static void start() throws Exception {
        receiver = new Receiver();
    }

    @AfterAll
    static void stop() {
        receiver.close();
    }

    Reply send(String method, String path, String body, String token) throws Exception {
        return JsonCalls.send(port, method, path, body, token);
    }

    JsonNode callbacksOf(long job) throws Exception {
        return send("GET", "/job/" + job, null, ADMIN).body().get("callbacks");
    }

    @Test
    void a_job_enqueued_with_a_callback_reports_its_end_signed_and_shows_the_attempt() throws Exception {
        var url = receiver.url("/api-hook");
        var created = send(
                "POST",
                "/jobs",
                "{\"kind\":\"noop\",\"callbacks\":[{\"url\":\"" + url + "\",\"events\":[\"succeeded\"]}]}",
                ADMIN);
        assertThat(created.status()).isEqualTo(201);
        var id = created.body().get("id").asLong();
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            var callbacks = callbacksOf(id);
            return callbacks.size() == 1
                    && callbacks.get(0).get("status").asString().equals("DONE");
        });
        var got = receiver.received.stream()
                .filter(r -> json.readTree(r.body()).get("job").get("id").asLong() == id)
                .findFirst()
                .orElseThrow();
        assertThat(CallbackVerifier.verify(
                                List.of(SECRET),
                                got.header(CallbackVerifier.TIMESTAMP_HEADER),
                                got.header(CallbackVerifier.SIGNATURE_HEADER),
                                got.body(),
                                Instant.now())
                        .valid())
                .isTrue();
        var event = json.readTree(got.body());
        assertThat(event.get("type").asString()).isEqualTo("succeeded");
        assertThat(event.get("job").get("status").asString()).isEqualTo("SUCCEEDED");
        var shown = callbacksOf(id).get(0);
        assertThat(shown.get("event_id").asString())
                .isEqualTo(event.get("event_id").asString());
        assertThat(shown.get("url").asString()).isEqualTo(url);
        assertThat(shown.get("attempt_log")).hasSize(1);
        assertThat(shown.get("attempt_log").get(0).get("status_code").asInt()).isEqualTo(200);
        assertThat(shown.get("attempt_log").get(0).has("duration_ms")).isTrue();
        assertThat(shown.toString()).doesNotContain(SECRET);
    }

    @Test
    void bad_callbacks_are_refused_with_400_and_no_job() throws Exception {
        var url = receiver.url("/x");
        for (var body : List.of(
                "{\"kind\":\"noop\",\"callbacks\":[{\"url\":\"ftp://127.0.0.1/\"}]}",
                "{\"kind\":\"noop\",\"callbacks\":[{\"url\":\"" + url + "\",\"events\":[\"finished\"]}]}",
                "{\"kind\":\"noop\",\"callbacks\":[{\"url\":\"https://10.1.2.3/\"}]}",
                "{\"kind\":\"noop\",\"callbacks\":" + "["
                        + String.join(",", java.util.Collections.nCopies(6, "{\"url\":\"" + url + "\"}")) + "]}",
                "{\"kind\":\"noop\",\"callbacks\":\"" + url + "\"}")) {
            var reply = send("POST", "/jobs", body, ADMIN);
            assertThat(reply.status()).as(body).isEqualTo(400);
            assertThat(reply.body().get("status").asInt()).isEqualTo(400);
            assertThat(reply.body().get("error").asString()).as(body).isNotBlank();
        }
        var bisect = send(
                "POST",
                "/bisect",
                "{\"repo\":\"https://github.com/acme/app.git\",\"good\":[\"v1\"],\"bad\":\"main\","
                        + "\"command\":\"make test\",\"callbacks\":[{\"url\":\"" + url + "\",\"events\":[\"done\"]}]}",
                ADMIN);
        assertThat(bisect.status()).isEqualTo(400);
        assertThat(bisect.body().get("error").asString()).contains("unknown callback event \"done\"");
    }

    @Test
    void an_operator_replays_a_dead_letter_over_http() throws Exception {
        receiver.answer(410);
        var url = receiver.url("/replayed");
        var id = send("POST", "/jobs", "{\"kind\":\"noop\",\"callbacks\":[{\"url\":\"" + url + "\"}]}", ADMIN)
                .body()
                .get("id")
                .asLong();
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            var callbacks = callbacksOf(id);
            return callbacks.size() == 1
                    && callbacks.get(0).get("status").asString().equals("DEAD");
        });
        var replay = send("POST", "/admin/callbacks/replay", "{\"job\": " + id + "}", OPERATOR);
        assertThat(replay.status()).isEqualTo(200);
        assertThat(replay.body().get("replayed").asInt()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> callbacksOf(id).get(0).get("status").asString().equals("DONE"));
        assertThat(send("POST", "/admin/callbacks/replay", "{\"since\": \"yesterday\"}", OPERATOR)
                        .status())
                .isEqualTo(400);
        assertThat(send("POST", "/admin/callbacks/replay", "{}", OPERATOR).status())
                .isEqualTo(400);
        assertThat(send("POST", "/admin/callbacks/replay", "{\"since\": \"2000-01-01T00:00:00Z\"}", OPERATOR)
                        .body()
                        .get("replayed")
                        .asInt())
                .isZero();
    }
}
