package io.bisectbot.callbacks;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.bisectbot.TestExecutor;
import io.bisectbot.TestGit;
import io.bisectbot.bisect.BisectJobHandler;
import io.bisectbot.bisect.BisectListener;
import io.bisectbot.git.GitCredentials;
import io.bisectbot.queue.NewJob;
import io.bisectbot.queue.QueueTestSupport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * A bisection's {@code progress} events, from a real git repository and real Docker steps through the real outbox:
 * the start, then one signed event per search round with the verdicts of the commits it tested.
 */
class ProgressEventsTest {

    static final String SECRET = "secret-of-the-progress-test";
    private static final JsonMapper json = JsonMapper.builder().build();

    private final HikariDataSource database = TestDatabase.migrated();
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final Clock clock = Clock.systemUTC();

    @TempDir
    Path repo;

    @TempDir
    Path cache;

    @AfterEach
    void close() throws Exception {
        for (var resource : resources.reversed()) {
            resource.close();
        }
        database.close();
    }

    /** {@code n} commits; commit {@code firstBad} (0-based) and later ones fail {@code sh test.sh}. Oldest first. */
    private List<String> history(int n, int firstBad) throws Exception {
        TestGit.run(repo, "init", "-q", "-b", "main");
        Files.writeString(repo.resolve("test.sh"), "[ \"$(cat state)\" = good ]\n");
        var shas = new ArrayList<String>();
        for (int i = 0; i < n; i++) {
            Files.writeString(repo.resolve("state"), i < firstBad ? "good\n" : "bad\n");
            Files.writeString(repo.resolve("version"), "v" + i + "\n");
            TestGit.run(repo, "add", "-A");
            TestGit.run(repo, "commit", "-q", "-m", "change " + i);
            shas.add(TestGit.run(repo, "rev-parse", "HEAD"));
        }
        return shas;
    }

    @Test
    void a_bisection_tells_its_start_and_every_round_with_the_verdicts_it_found() throws Exception {
        var shas = history(12, 7);
        var registry = new SimpleMeterRegistry();
        var docker = TestExecutor.start(database, registry);
        resources.add(docker);
        // The listener is registered once the queue exists: the handler looks its listeners up per job.
        var beans = new DefaultListableBeanFactory();
        var handler = new BisectJobHandler(
                TestExecutor.bisectProperties(4),
                TestExecutor.gitProperties(cache),
                docker.executor(),
                docker.health(),
                docker.logs(),
                JdbcClient.create(database),
                clock,
                beans.getBeanProvider(GitCredentials.class),
                beans.getBeanProvider(BisectListener.class));
        var node =
                QueueTestSupport.node(database, List.of(handler), QueueTestSupport.quickTimings("progress"), registry);
        resources.add(node::shutdown);
        var properties = new CallbackProperties(
                SECRET,
                "127.0.0.1",
                null,
                5,
                Duration.ofHours(1),
                Duration.ofSeconds(5),
                Duration.ofMillis(20),
                Duration.ofMillis(200),
                Duration.ofMillis(50),
                Duration.ofSeconds(30));
        var outbox = new CallbackOutbox(database, json, clock);
        var targets = new CallbackTargets(properties.allowedHostList());
        var callbacks = new Callbacks(outbox, targets, properties, database, node.queue());
        var delivery =
                new CallbackDelivery(outbox, node.queue(), targets, properties, json, clock, "progress-delivery");
        beans.registerSingleton("callbackBisectListener", new CallbackBisectListener(callbacks));
        var receiver = new Receiver();
        resources.add(receiver);

        // Three steps at once: the first round runs beside the verification of the two ends.
        var payload = JsonNodeFactory.instance
                .objectNode()
                .put("repo", repo.toString())
                .put("bad", "main")
                .put("command", "sh test.sh")
                .put("parallelism", 3);
        payload.putArray("good").add(shas.getFirst());
        var id = callbacks
                .enqueue(
                        node.queue(),
                        NewJob.of(BisectJobHandler.KIND, payload),
                        List.of(new Callbacks.Subscription(
                                receiver.url("/progress"), List.of("progress", "succeeded"))))
                .job()
                .id();
        node.start();

        var deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (receiver.received.stream()
                .noneMatch(r -> body(r).get("type").asString().equals("succeeded"))) {
            assertThat(System.nanoTime())
                    .as("the job ends and its events arrive in time")
                    .isLessThan(deadline);
            if (delivery.deliverDue() == 0) {
                Thread.sleep(50);
            }
        }

        var events = receiver.received.stream().map(ProgressEventsTest::body).toList();
        for (var received : receiver.received) {
            assertThat(CallbackVerifier.verify(
                                    List.of(SECRET),
                                    received.header(CallbackVerifier.TIMESTAMP_HEADER),
                                    received.header(CallbackVerifier.SIGNATURE_HEADER),
                                    received.body(),
                                    Instant.now())
                            .valid())
                    .isTrue();
        }
        assertThat(events).extracting(e -> e.get("type").asString()).last().isEqualTo("succeeded");
        assertThat(events.getFirst().get("progress").get("stage").asString()).isEqualTo("started");
        var rounds = events.subList(1, events.size() - 1).stream()
                .map(e -> e.get("progress"))
                .toList();
        assertThat(rounds).isNotEmpty().allMatch(r -> r.get("stage").asString().equals("round"));

        var result = node.queue().find(id).orElseThrow().result();
        assertThat(result.get("outcome").get("commit").get("sha").asString()).isEqualTo(shas.get(7));
        assertThat(rounds).hasSize(result.get("rounds").asInt());
        var index = new HashMap<String, Integer>();
        for (int i = 0; i < shas.size(); i++) {
            index.put(shas.get(i), i);
        }
        var left = Integer.MAX_VALUE;
        for (int n = 0; n < rounds.size(); n++) {
            var round = rounds.get(n);
            assertThat(round.get("round").asInt()).isEqualTo(n + 1);
            assertThat(round.get("candidates_left").asInt())
                    .as("candidates after round %d", n + 1)
                    .isLessThan(left);
            left = round.get("candidates_left").asInt();
            assertThat(round.get("tested"))
                    .as("round %d tested a commit", n + 1)
                    .isNotEmpty();
            for (var tested : round.get("tested")) {
                var at = index.get(tested.get("commit").asString());
                assertThat(at).isNotNull();
                assertThat(tested.get("verdict").asString())
                        .as("verdict of commit %d", at)
                        .isEqualTo(at < 7 ? "good" : "bad");
                assertThat(tested.get("subject").asString()).isEqualTo("change " + at);
            }
        }
        assertThat(rounds.getLast().get("candidates_left").asInt()).isEqualTo(1);
        assertThat(rounds.getLast().get("rounds_left").asInt()).isZero();
        // Every commit the search tested (all but the two ends) is in exactly one round.
        var searched = new ArrayList<String>();
        result.get("commits").forEach(c -> searched.add(c.get("commit").asString()));
        searched.removeAll(List.of(shas.getFirst(), shas.getLast()));
        var told = new ArrayList<String>();
        rounds.forEach(
                r -> r.get("tested").forEach(t -> told.add(t.get("commit").asString())));
        assertThat(told).containsExactlyInAnyOrderElementsOf(searched);
    }

    private static JsonNode body(Receiver.Received received) {
        return json.readTree(received.body());
    }
}
