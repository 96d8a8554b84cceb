package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.bisectbot.TestDatabase;
import io.bisectbot.bots.BotConfig;
import io.bisectbot.bots.BotTriggers;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.NewJob;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.json.JsonMapper;

@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class InstallationFairShareTest {

    private static final Instant LATER = Instant.parse("2099-01-01T00:00:00Z");

    @LocalServerPort
    int port;

    @Autowired
    JobQueue queue;

    @Autowired
    DataSource dataSource;

    @Autowired
    Deliveries deliveries;

    @Autowired
    Deliveries.PendingJobs pending;

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.github.webhook-secrets", () -> "s");
        registry.add("bisectbot.queue.max-pending-per-tenant", () -> "2");
    }

    private HttpResponse<String> deliver(String id, long installation) throws Exception {
        var body = ("{\"action\":\"opened\",\"installation\":{\"id\":" + installation + "}}").getBytes();
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/webhooks/github"))
                                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                                .header("X-GitHub-Event", "pull_request")
                                .header("X-GitHub-Delivery", id)
                                .header("X-Hub-Signature-256", WebhookSignatures.sign("s", body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
    }

    private long stored(String deliveryId) {
        return JdbcClient.create(dataSource)
                .sql("SELECT count(*) FROM github_deliveries WHERE delivery_id = :id")
                .param("id", deliveryId)
                .query(Long.class)
                .single();
    }

    @Test
    void an_installation_at_its_pending_cap_gets_429_while_other_installations_deliveries_are_stored()
            throws Exception {
        queue.enqueue(NewJob.of("noop", null).withTenant("installation:11").withRunAt(LATER));
        queue.enqueue(NewJob.of("noop", null).withTenant("installation:11").withRunAt(LATER));
        // The per-installation counts are refreshed every second with the global one, not on the request path.
        var deadline = System.nanoTime() + 10_000_000_000L;
        while (!pending.atCap(11L) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }

        var refused = deliver("busy-1", 11);
        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(refused.headers().firstValue("Retry-After")).hasValue("60");
        assertThat(refused.body())
                .contains("installation 11 has its cap of pending jobs (MAX_PENDING_PER_INSTALLATION)")
                .contains("\"status\":429");
        assertThat(stored("busy-1")).isZero();

        var accepted = deliver("quiet-1", 12);
        assertThat(accepted.statusCode()).isEqualTo(202);
        assertThat(stored("quiet-1")).isOne();
        assertThat(JdbcClient.create(dataSource)
                        .sql("SELECT tenant FROM jobs WHERE dedup_key = 'github-delivery:quiet-1'")
                        .query(String.class)
                        .single())
                .as("the delivery's job is its installation's")
                .isEqualTo("installation:12");
    }

    @Test
    void a_delivery_the_count_has_not_caught_up_with_is_refused_at_enqueue_and_nothing_is_stored() throws Exception {
        queue.enqueue(NewJob.of("noop", null).withTenant("installation:21").withRunAt(LATER));
        queue.enqueue(NewJob.of("noop", null).withTenant("installation:21").withRunAt(LATER));
        // No pending counts at all: only the enqueue's own check stands between the delivery and the queue.
        try (var writer = new IntakeWriter(deliveries, queue, 1, 10)) {
            assertThatThrownBy(() -> writer.record(
                            new Deliveries.Incoming(
                                    "late-1",
                                    "pull_request",
                                    "opened",
                                    21L,
                                    Map.of(),
                                    "{\"installation\":{\"id\":21}}"),
                            Duration.ofSeconds(5)))
                    .isInstanceOf(IntakeWriter.InstallationOverCap.class)
                    .hasMessageContaining("tenant installation:21 has 2 pending jobs");
            assertThat(writer.record(
                            new Deliveries.Incoming(
                                    "late-2",
                                    "pull_request",
                                    "opened",
                                    22L,
                                    Map.of(),
                                    "{\"installation\":{\"id\":22}}"),
                            Duration.ofSeconds(5)))
                    .isTrue();
        }
        assertThat(stored("late-1")).isZero();
        assertThat(stored("late-2")).isOne();
    }

    @Test
    void bot_jobs_belong_to_their_installation() throws Exception {
        var tasks = BotConfig.parse(
                JsonMapper.builder().build().readTree("{\"lint\":{\"run\":\"true\",\"on\":[\"command\"]}}"),
                "debian:bookworm",
                Duration.ofMinutes(5));
        var target = new BotTriggers.Target(
                "https://github.com/octo/app.git",
                "octo",
                "app",
                31,
                7,
                "a".repeat(40),
                "main",
                io.bisectbot.bots.Trust.untrusted("a test"));
        var job = new BotTriggers(queue).command(target, tasks, "lint", null, "bot-tenant-1");
        assertThat(job.tenant()).isEqualTo("installation:31");
    }
}
