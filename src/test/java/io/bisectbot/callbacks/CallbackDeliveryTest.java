package io.bisectbot.callbacks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.bisectbot.queue.JobContext;
import io.bisectbot.queue.JobHandler;
import io.bisectbot.queue.JobOutcome;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.NewJob;
import io.bisectbot.queue.QueueNode;
import io.bisectbot.queue.QueueProperties;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Callback events from a job's end to a real HTTP receiver, through the real outbox in PostgreSQL: signatures the
 * shipped verifier accepts, retries, dead letters, replay, ordering, and no way into private addresses.
 */
class CallbackDeliveryTest {

    static final List<String> SECRETS = List.of("new-secret-of-the-callback-test", "old-secret-of-the-callback-test");
    private static final JsonMapper json = JsonMapper.builder().build();
    private static HikariDataSource dataSource;
    private static JobQueue queue;
    private static QueueNode node;

    private final Clock clock = Clock.systemUTC();
    private Receiver receiver;
    private JdbcClient jdbc;

    @BeforeAll
    static void database() {
        dataSource = TestDatabase.migrated();
        // The queue only enqueues here (no worker runs): the tests end jobs themselves.
        node = QueueNode.create(
                dataSource,
                List.of(handler("work"), handler("bisect")),
                QueueProperties.defaults(),
                Clock.systemUTC(),
                new SimpleMeterRegistry(),
                json,
                "test");
        queue = node.queue();
    }

    static JobHandler handler(String kind) {
        return new JobHandler() {
            @Override
            public String kind() {
                return kind;
            }

            @Override
            public JobOutcome handle(JobContext context) {
                return JobOutcome.succeeded(null);
            }
        };
    }

    @AfterAll
    static void close() {
        dataSource.close();
    }

    @BeforeEach
    void receiver() throws Exception {
        receiver = new Receiver();
        jdbc = JdbcClient.create(dataSource);
    }

    @AfterEach
    void stop() {
        receiver.close();
    }

    static CallbackProperties properties(String allowedHosts, Duration deadAfter) {
        return new CallbackProperties(
                String.join(",", SECRETS),
                allowedHosts,
                null,
                3,
                deadAfter,
                Duration.ofSeconds(5),
                Duration.ofMillis(20),
                Duration.ofMillis(200),
                Duration.ofMillis(50),
                Duration.ofSeconds(30));
    }

    record Parts(Callbacks callbacks, CallbackDelivery delivery, CallbackOutbox outbox) {}

    Parts parts(CallbackProperties properties) {
        var outbox = new CallbackOutbox(dataSource, json, clock);
        var targets = new CallbackTargets(properties.allowedHostList());
        return new Parts(
                new Callbacks(outbox, targets, properties, dataSource, queue),
                new CallbackDelivery(outbox, queue, targets, properties, json, clock, "instance-" + System.nanoTime()),
                outbox);
    }

    Parts parts() {
        return parts(properties("127.0.0.1", Duration.ofHours(1)));
    }

    /** A job with the given callbacks, ended by SQL as a worker's completion ends it (the trigger writes the events). */
    long jobThatEnds(Parts parts, String status, List<Callbacks.Subscription> callbacks) {
        var job = parts.callbacks()
                .enqueue(queue, NewJob.of("work", null), callbacks)
                .job()
                .id();
        end(job, status);
        return job;
    }

    void end(long job, String status) {
        jdbc.sql("UPDATE jobs SET status = 'RUNNING', worker_id = 'w', attempt_count = 1 WHERE id = :id")
                .param("id", job)
                .update();
        jdbc.sql("""
                        UPDATE jobs SET status = :status, finished_at = now(),
                                        result = CASE WHEN :status = 'SUCCEEDED' THEN CAST('{"answer": 42}' AS jsonb) END,
                                        last_error = CASE WHEN :status = 'FAILED' THEN 'it broke' END
                         WHERE id = :id""").param("status", status).param("id", job).update();
    }

    List<Callbacks.Subscription> to(String path, String... events) {
        return List.of(new Callbacks.Subscription(receiver.url(path), List.of(events)));
    }

    void deliverUntil(Parts parts, BooleanSupplier done) throws InterruptedException {
        var deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("delivered in time").isLessThan(deadline);
            if (parts.delivery().deliverDue() == 0) {
                Thread.sleep(20);
            }
        }
    }

    String status(Parts parts, long job) {
        return parts.callbacks().forJob(job).getFirst().status();
    }

    JsonNode body(Receiver.Received received) {
        return json.readTree(received.body());
    }

    @Test
    void an_event_is_signed_with_every_secret_and_verifies_with_the_shipped_verifier() throws Exception {
        var parts = parts();
        var job = jobThatEnds(parts, "SUCCEEDED", to("/hook", "succeeded"));
        deliverUntil(
                parts, () -> receiver.received.size() == 1 && status(parts, job).equals("DONE"));

        var got = receiver.received.getFirst();
        var signature = got.header(CallbackVerifier.SIGNATURE_HEADER);
        assertThat(signature.split(",")).hasSize(2).allMatch(part -> part.matches("v1=[0-9a-f]{64}"));
        var timestamp = got.header(CallbackVerifier.TIMESTAMP_HEADER);
        assertThat(Long.parseLong(timestamp))
                .isCloseTo(Instant.now().getEpochSecond(), org.assertj.core.data.Offset.offset(60L));
        // A receiver that knows only one of the secrets (mid-rotation) accepts it either way.
        for (var secret : SECRETS) {
            assertThat(CallbackVerifier.verify(List.of(secret), timestamp, signature, got.body(), Instant.now())
                            .valid())
                    .isTrue();
        }
        assertThat(CallbackVerifier.verify(
                                List.of("some-other-secret"), timestamp, signature, got.body(), Instant.now())
                        .valid())
                .isFalse();
        var tampered = new String(got.body()).replace("42", "43").getBytes();
        assertThat(CallbackVerifier.verify(SECRETS, timestamp, signature, tampered, Instant.now())
                        .valid())
                .isFalse();

        var event = body(got);
        assertThat(event.get("type").asString()).isEqualTo("succeeded");
        assertThat(event.get("event_id").asString())
                .isEqualTo(parts.callbacks().forJob(job).getFirst().eventId());
        assertThat(event.get("job").get("id").asLong()).isEqualTo(job);
        assertThat(event.get("job").get("kind").asString()).isEqualTo("work");
        assertThat(event.get("job").get("status").asString()).isEqualTo("SUCCEEDED");
        assertThat(event.get("result").get("answer").asInt()).isEqualTo(42);
        assertThat(got.header("Content-Type")).isEqualTo("application/json");
    }

    @Test
    void the_verifier_rejects_a_replayed_event_id_and_an_old_timestamp() throws Exception {
        var parts = parts();
        jobThatEnds(parts, "FAILED", to("/hook", "failed"));
        deliverUntil(parts, () -> receiver.received.size() == 1);
        var got = receiver.received.getFirst();
        var timestamp = got.header(CallbackVerifier.TIMESTAMP_HEADER);
        var signature = got.header(CallbackVerifier.SIGNATURE_HEADER);
        var eventId = body(got).get("event_id").asString();
        var guard = new CallbackVerifier.ReplayGuard();

        var now = Instant.now();
        assertThat(CallbackVerifier.verify(SECRETS, timestamp, signature, got.body(), now)
                        .valid())
                .isTrue();
        assertThat(guard.firstTime(eventId, now)).isTrue();
        // The same request sent again: the signature still holds, the event id does not pass twice.
        assertThat(CallbackVerifier.verify(SECRETS, timestamp, signature, got.body(), now.plusSeconds(30))
                        .valid())
                .isTrue();
        assertThat(guard.firstTime(eventId, now.plusSeconds(30))).isFalse();
        // Replayed later than the tolerance: refused by its timestamp, whatever the receiver remembers.
        var late = CallbackVerifier.verify(SECRETS, timestamp, signature, got.body(), now.plus(Duration.ofMinutes(6)));
        assertThat(late.valid()).isFalse();
        assertThat(late.reason()).contains("tolerance");
        assertThat(CallbackVerifier.verify(
                                SECRETS,
                                timestamp,
                                signature,
                                got.body(),
                                now.plus(Duration.ofMinutes(6)),
                                Duration.ofMinutes(10))
                        .valid())
                .isTrue();
        // A fresh timestamp on an old signature does not verify either.
        assertThat(CallbackVerifier.verify(SECRETS, Long.toString(now.getEpochSecond() + 1), signature, got.body(), now)
                        .valid())
                .isFalse();
    }

    @Test
    void a_receiver_answering_500_three_times_then_200_accepts_exactly_one_event() throws Exception {
        var parts = parts();
        receiver.answer(500, 500, 500, 200);
        var job = jobThatEnds(parts, "SUCCEEDED", to("/flaky", "succeeded"));
        deliverUntil(parts, () -> status(parts, job).equals("DONE"));

        assertThat(receiver.received).hasSize(4);
        var guard = new CallbackVerifier.ReplayGuard();
        var accepted = 0;
        for (var i = 0; i < receiver.received.size(); i++) {
            var got = receiver.received.get(i);
            var valid = CallbackVerifier.verify(
                            SECRETS,
                            got.header(CallbackVerifier.TIMESTAMP_HEADER),
                            got.header(CallbackVerifier.SIGNATURE_HEADER),
                            got.body(),
                            Instant.now())
                    .valid();
            assertThat(valid).isTrue();
            // The receiver takes the event only when it answers 200 (the last time); it had failed before.
            if (i == 3 && guard.firstTime(body(got).get("event_id").asString(), Instant.now())) {
                accepted++;
            }
        }
        assertThat(accepted).isEqualTo(1);
        assertThat(receiver.received.stream()
                        .map(r -> body(r).get("event_id").asString())
                        .distinct())
                .hasSize(1);
        var view = parts.callbacks().forJob(job).getFirst();
        assertThat(view.attempts()).isEqualTo(4);
        assertThat(view.attemptLog()).extracting(Callbacks.Attempt::statusCode).containsExactly(500, 500, 500, 200);
        assertThat(view.attemptLog()).allSatisfy(a -> assertThat(a.durationMs()).isNotNegative());
    }

    @Test
    void a_410_dead_letters_at_once_and_replay_delivers_it_again() throws Exception {
        var parts = parts();
        receiver.answer(410);
        var job = jobThatEnds(parts, "CANCELLED", to("/gone", "cancelled"));
        deliverUntil(parts, () -> status(parts, job).equals("DEAD"));
        assertThat(receiver.received).hasSize(1);
        assertThat(parts.callbacks().forJob(job).getFirst().lastError()).contains("410");
        // Another pass leaves it dead (other tests' events may be due in the shared database, so not "nothing due").
        parts.delivery().deliverDue();
        assertThat(status(parts, job)).isEqualTo("DEAD");
        assertThat(receiver.received).hasSize(1);

        assertThat(parts.callbacks().replay(job, null)).isEqualTo(1);
        assertThat(parts.callbacks().replay(job, null))
                .as("only dead letters are replayed")
                .isZero();
        deliverUntil(parts, () -> status(parts, job).equals("DONE"));
        assertThat(receiver.received).hasSize(2);
        assertThat(body(receiver.received.get(1)).get("event_id").asString())
                .isEqualTo(body(receiver.received.get(0)).get("event_id").asString());
        assertThat(parts.callbacks().forJob(job).getFirst().attemptLog())
                .extracting(Callbacks.Attempt::statusCode)
                .containsExactly(410, 200);
    }

    @Test
    void replay_since_takes_only_events_dead_lettered_at_or_after_that_time() throws Exception {
        var parts = parts();
        receiver.answer(404);
        var first = jobThatEnds(parts, "FAILED", to("/first", "failed"));
        deliverUntil(parts, () -> status(parts, first).equals("DEAD"));
        Thread.sleep(20);
        var between = Instant.now();
        receiver.answer(404);
        var second = jobThatEnds(parts, "FAILED", to("/second", "failed"));
        deliverUntil(parts, () -> status(parts, second).equals("DEAD"));

        assertThat(parts.callbacks().replay(null, between)).isEqualTo(1);
        assertThat(status(parts, first)).isEqualTo("DEAD");
        assertThat(status(parts, second)).isEqualTo("PENDING");
        assertThatThrownBy(() -> parts.callbacks().replay(null, null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void retry_after_is_honoured() throws Exception {
        var parts = parts(new CallbackProperties(
                String.join(",", SECRETS),
                "127.0.0.1",
                null,
                3,
                Duration.ofHours(24),
                Duration.ofSeconds(5),
                Duration.ofMillis(20),
                Duration.ofHours(1),
                Duration.ofMillis(50),
                Duration.ofSeconds(30)));
        receiver.answerWithRetryAfter(429, "120");
        var job = jobThatEnds(parts, "SUCCEEDED", to("/busy", "succeeded"));
        var before = Instant.now();
        deliverUntil(
                parts,
                () -> receiver.received.size() == 1
                        && parts.callbacks().forJob(job).getFirst().nextAttemptAt() != null
                        && parts.callbacks().forJob(job).getFirst().attempts() == 1
                        && parts.callbacks().forJob(job).getFirst().lastError() != null);
        var view = parts.callbacks().forJob(job).getFirst();
        assertThat(view.status()).isEqualTo("PENDING");
        assertThat(view.nextAttemptAt()).isBetween(before.plusSeconds(115), before.plusSeconds(125));
    }

    @Test
    void an_event_failing_longer_than_dead_after_is_dead_lettered() throws Exception {
        var parts = parts(properties("127.0.0.1", Duration.ofMillis(300)));
        receiver.answer(
                500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500);
        var job = jobThatEnds(parts, "SUCCEEDED", to("/down", "succeeded"));
        deliverUntil(parts, () -> status(parts, job).equals("DEAD"));
        var view = parts.callbacks().forJob(job).getFirst();
        assertThat(view.attempts()).isGreaterThan(1);
        assertThat(view.attemptLog()).allSatisfy(a -> assertThat(a.statusCode()).isEqualTo(500));
    }

    @Test
    void events_for_one_url_of_a_job_arrive_in_order() throws Exception {
        var parts = parts();
        receiver.answer(503, 503);
        var job = parts.callbacks()
                .enqueue(queue, NewJob.of("work", null), to("/ordered", "progress", "succeeded"))
                .job()
                .id();
        parts.callbacks().progress(job, JsonNodeFactory.instance.objectNode().put("stage", "started"));
        end(job, "SUCCEEDED");
        deliverUntil(
                parts,
                () -> parts.callbacks().forJob(job).stream()
                        .allMatch(e -> e.status().equals("DONE")));
        // The final event was due at once but waited until the earlier progress event got through.
        assertThat(receiver.received)
                .extracting(r -> body(r).get("type").asString())
                .containsExactly("progress", "progress", "progress", "succeeded");
        assertThat(body(receiver.received.getFirst())
                        .get("progress")
                        .get("stage")
                        .asString())
                .isEqualTo("started");
    }

    @Test
    void a_job_delivers_only_the_events_its_callbacks_asked_for() throws Exception {
        var parts = parts();
        var job = jobThatEnds(parts, "FAILED", to("/only-success", "succeeded"));
        assertThat(parts.callbacks().forJob(job)).isEmpty();
        var other = jobThatEnds(parts, "FAILED", to("/failures", "failed", "succeeded"));
        deliverUntil(parts, () -> status(parts, other).equals("DONE"));
        assertThat(body(receiver.received.getFirst()).get("job").get("error").asString())
                .isEqualTo("it broke");
    }

    @Test
    void a_private_address_is_refused_when_not_allowed() throws Exception {
        var open = new CallbackTargets(List.of());
        for (var url : List.of(
                "https://10.0.0.5/hook",
                "https://127.0.0.1/hook",
                "https://169.254.169.254/latest/meta-data",
                "https://[::1]/hook",
                "https://[fd00::1]/hook",
                "https://192.168.1.1/",
                "https://100.64.0.1/",
                "https://224.0.0.1/")) {
            assertThatThrownBy(() -> open.check(url))
                    .as(url)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not a public address");
        }
        assertThatThrownBy(() -> open.check("http://example.com/hook")).hasMessageContaining("must be https");
        assertThatThrownBy(() -> open.check("ftp://example.com/hook")).hasMessageContaining("must be https");
        assertThatThrownBy(() -> open.check("https://user:pw@example.com/hook")).hasMessageContaining("credential");
        assertThat(open.check("https://example.com/hook").getHost()).isEqualTo("example.com");
        var listed = new CallbackTargets(List.of("*.example.com"));
        assertThat(listed.check("https://hooks.example.com/x").getHost()).isEqualTo("hooks.example.com");
        assertThatThrownBy(() -> listed.check("https://example.org/x"))
                .hasMessageContaining("not in CALLBACK_ALLOWED_HOSTS");

        // A name is resolved at delivery: localhost is loopback, so with no allowlist nothing is sent to it.
        var parts = parts(properties("", Duration.ofHours(1)));
        var job = parts.callbacks()
                .enqueue(
                        queue,
                        NewJob.of("work", null),
                        List.of(new Callbacks.Subscription(
                                "https://localhost:" + receiver.port() + "/internal", List.of("succeeded"))))
                .job()
                .id();
        end(job, "SUCCEEDED");
        deliverUntil(parts, () -> status(parts, job).equals("DEAD"));
        assertThat(receiver.received).isEmpty();
        assertThat(parts.callbacks().forJob(job).getFirst().lastError())
                .contains("refused")
                .contains("127.0.0.1");
    }

    @Test
    void a_request_with_bad_callbacks_is_refused_with_what_is_wrong() {
        var callbacks = parts().callbacks();
        assertThat(callbacks
                        .parse(json.readTree("[{\"url\": \"" + receiver.url("/ok") + "\"}]"))
                        .getFirst()
                        .events())
                .containsExactly("succeeded", "failed", "cancelled");
        assertThatThrownBy(() -> callbacks.parse(
                        json.readTree("[{\"url\": \"" + receiver.url("/x") + "\", \"events\": [\"exploded\"]}]")))
                .hasMessageContaining("unknown callback event \"exploded\"")
                .hasMessageContaining("progress");
        assertThatThrownBy(() -> callbacks.parse(json.readTree("[{\"url\": \"not a url\"}]")))
                .hasMessageContaining("not a valid URL");
        assertThatThrownBy(() -> callbacks.parse(json.readTree("[{\"url\": \"https://elsewhere.example/\"}]")))
                .hasMessageContaining("CALLBACK_ALLOWED_HOSTS");
        var four = "[" + String.join(",", java.util.Collections.nCopies(4, "{\"url\": \"" + receiver.url("/x") + "\"}"))
                + "]";
        assertThatThrownBy(() -> callbacks.parse(json.readTree(four))).hasMessageContaining("at most 3 callbacks");
        assertThatThrownBy(() -> callbacks.parse(json.readTree("{\"url\": \"x\"}")))
                .hasMessageContaining("must be a list");
        var noSecrets = new Callbacks(
                new CallbackOutbox(dataSource, json, clock),
                new CallbackTargets(List.of("127.0.0.1")),
                new CallbackProperties(
                        null,
                        "127.0.0.1",
                        null,
                        5,
                        Duration.ofHours(24),
                        Duration.ofSeconds(10),
                        Duration.ofSeconds(5),
                        Duration.ofHours(1),
                        Duration.ofSeconds(1),
                        Duration.ofMinutes(2)),
                dataSource,
                queue);
        assertThatThrownBy(() -> noSecrets.parse(json.readTree("[{\"url\": \"" + receiver.url("/x") + "\"}]")))
                .hasMessageContaining("CALLBACK_SECRETS");
    }

    @Test
    void a_job_started_from_github_reports_to_the_instance_callback_urls() throws Exception {
        var properties = new CallbackProperties(
                String.join(",", SECRETS),
                "127.0.0.1",
                receiver.url("/instance"),
                3,
                Duration.ofHours(1),
                Duration.ofSeconds(5),
                Duration.ofMillis(20),
                Duration.ofMillis(200),
                Duration.ofMillis(50),
                Duration.ofSeconds(30));
        var parts = parts(properties);
        var github = NewJob.of("bisect", null).withTenant(NewJob.installationTenant(77));
        var local = NewJob.of("bisect", null);
        var githubJob = queue.enqueue(github).job();
        parts.callbacks().created(githubJob);
        var localJob = queue.enqueue(local).job();
        parts.callbacks().created(localJob);
        end(githubJob.id(), "SUCCEEDED");
        end(localJob.id(), "SUCCEEDED");
        deliverUntil(
                parts,
                () -> !parts.callbacks().forJob(githubJob.id()).isEmpty()
                        && status(parts, githubJob.id()).equals("DONE"));
        assertThat(parts.callbacks().forJob(localJob.id())).isEmpty();
        assertThat(body(receiver.received.getFirst()).get("job").get("id").asLong())
                .isEqualTo(githubJob.id());
    }

    @Test
    void a_job_started_from_github_takes_its_repository_s_callbacks_and_notes_each_one_dropped() throws Exception {
        var parts = parts(); // at most 3 callbacks per job
        var payload = json.readTree("""
                {"repo_callbacks": [
                  {"url": "%s", "events": ["succeeded", "progress"]},
                  {"url": "https://10.1.2.3/hook?token=hunter2"},
                  {"url": "%s", "events": ["exploded"]},
                  {"url": "%s"}, {"url": "%s"}, {"url": "%s"}]}""".formatted(
                        receiver.url("/repo"),
                        receiver.url("/typo"),
                        receiver.url("/two"),
                        receiver.url("/three"),
                        receiver.url("/four")));
        var githubJob = queue.enqueue(NewJob.of("bisect", payload).withTenant(NewJob.installationTenant(78)))
                .job();
        parts.callbacks().created(githubJob);
        // The same field in a job that did not come from GitHub means nothing.
        var localJob = queue.enqueue(NewJob.of("bisect", payload)).job();
        parts.callbacks().created(localJob);

        var notes = queue.events(githubJob.id()).stream()
                .filter(e -> e.type().equals(Callbacks.REFUSED_EVENT))
                .map(io.bisectbot.queue.JobEvent::detail)
                .toList();
        assertThat(notes).hasSize(3);
        assertThat(notes.get(0))
                .startsWith("callback 2 of the repository's config is dropped: ")
                .contains("10.1.2.3", "CALLBACK_ALLOWED_HOSTS")
                .doesNotContain("hunter2");
        assertThat(notes.get(1)).startsWith("callback 3 ").contains("unknown callback event \"exploded\"");
        assertThat(notes.get(2)).startsWith("callback 6 ").contains("at most 3 callbacks (CALLBACK_MAX_PER_JOB)");
        assertThat(queue.events(localJob.id())).noneMatch(e -> e.type().equals(Callbacks.REFUSED_EVENT));

        end(githubJob.id(), "SUCCEEDED");
        end(localJob.id(), "SUCCEEDED");
        deliverUntil(
                parts,
                () -> parts.callbacks().forJob(githubJob.id()).stream()
                        .allMatch(e -> e.status().equals("DONE")));
        assertThat(parts.callbacks().forJob(githubJob.id()))
                .extracting(Callbacks.EventView::url)
                .containsExactly(receiver.url("/repo"), receiver.url("/two"), receiver.url("/three"));
        assertThat(parts.callbacks().forJob(localJob.id())).isEmpty();
        var got = receiver.received.getFirst();
        assertThat(CallbackVerifier.verify(
                                SECRETS,
                                got.header(CallbackVerifier.TIMESTAMP_HEADER),
                                got.header(CallbackVerifier.SIGNATURE_HEADER),
                                got.body(),
                                Instant.now())
                        .valid())
                .isTrue();
        assertThat(body(got).get("job").get("id").asLong()).isEqualTo(githubJob.id());
    }

    @Test
    void without_secrets_a_repository_s_callbacks_are_dropped_with_a_note_and_the_job_stays() throws Exception {
        var noSecrets = new Callbacks(
                new CallbackOutbox(dataSource, json, clock),
                new CallbackTargets(List.of("127.0.0.1")),
                new CallbackProperties(
                        null,
                        "127.0.0.1",
                        null,
                        5,
                        Duration.ofHours(24),
                        Duration.ofSeconds(10),
                        Duration.ofSeconds(5),
                        Duration.ofHours(1),
                        Duration.ofSeconds(1),
                        Duration.ofMinutes(2)),
                dataSource,
                queue);
        var payload = json.readTree("{\"repo_callbacks\": [{\"url\": \"" + receiver.url("/x") + "\"}]}");
        var job = queue.enqueue(NewJob.of("bisect", payload).withTenant(NewJob.installationTenant(79)))
                .job();
        noSecrets.created(job);
        assertThat(noSecrets.forJob(job.id())).isEmpty();
        assertThat(queue.find(job.id()).orElseThrow().status().name()).isEqualTo("PENDING");
        assertThat(queue.events(job.id()))
                .anyMatch(e ->
                        e.type().equals(Callbacks.REFUSED_EVENT) && e.detail().contains("CALLBACK_SECRETS is not set"));
    }

    @Test
    void the_command_line_says_what_is_wrong_with_its_words() {
        assertThat(CallbacksCommand.parse(new String[] {"replay", "--job", "12"}))
                .isEqualTo(new CallbacksCommand.Replay(12L, null));
        assertThat(CallbacksCommand.parse(new String[] {"replay", "--since", "2026-01-31T00:00:00Z"})
                        .since())
                .isEqualTo(Instant.parse("2026-01-31T00:00:00Z"));
        assertThatThrownBy(() -> CallbacksCommand.parse(new String[] {"replay"}))
                .hasMessageContaining("--job N or --since TIME");
        assertThatThrownBy(() -> CallbacksCommand.parse(new String[] {"replay", "--job", "x"}))
                .hasMessageContaining("'x'");
        assertThatThrownBy(() -> CallbacksCommand.parse(new String[] {"replay", "--since", "yesterday"}))
                .hasMessageContaining("ISO-8601");
        assertThatThrownBy(() -> CallbacksCommand.parse(new String[] {"resend"}))
                .hasMessageContaining("unknown callbacks command");
    }
}
