package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.TestDatabase;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.NewJob;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class WebhookBackpressureTest {

    @LocalServerPort
    int port;

    @Autowired
    JobQueue queue;

    @Autowired
    DataSource dataSource;

    @Autowired
    Deliveries.PendingJobs pending;

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.github.webhook-secrets", () -> "s");
        registry.add("bisectbot.github.max-queue-size", () -> "2");
    }

    @Test
    void a_full_queue_answers_429_with_retry_after_and_stores_nothing() throws Exception {
        var later = Instant.parse("2099-01-01T00:00:00Z");
        queue.enqueue(NewJob.of("noop", null).withRunAt(later));
        queue.enqueue(NewJob.of("noop", null).withRunAt(later));
        // The pending count is refreshed every second, not on the request path.
        var deadline = System.nanoTime() + 10_000_000_000L;
        while (pending.get() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        var body = "{\"action\":\"opened\",\"installation\":{\"id\":1}}".getBytes();
        var response = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/webhooks/github"))
                                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                                .header("X-GitHub-Event", "pull_request")
                                .header("X-GitHub-Delivery", "full-1")
                                .header("X-Hub-Signature-256", WebhookSignatures.sign("s", body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(429);
        assertThat(response.headers().firstValue("Retry-After")).hasValue("60");
        assertThat(response.body()).contains("queue is full");
        assertThat(JdbcClient.create(dataSource)
                        .sql("SELECT count(*) FROM github_deliveries")
                        .query(Long.class)
                        .single())
                .isZero();
    }
}
