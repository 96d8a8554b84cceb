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
import tools.jackson.databind.json.JsonMapper;

/** An instance whose Docker engine does not answer: it serves, says it is degraded, and leaves Docker jobs queued. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class DockerUnavailableTest {

    private static final JsonMapper json = JsonMapper.builder().build();
    private final HttpClient http = HttpClient.newHttpClient();

    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void settings(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.web.admin-token", () -> "t");
        // Nothing listens there: the engine is "down".
        registry.add("bisectbot.executor.docker-host", () -> "tcp://127.0.0.1:9");
        registry.add("bisectbot.bisect.allow-local-repos", () -> "true");
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest.Builder at(String path) {
        return HttpRequest.newBuilder(URI.create("http://localhost:" + port + path));
    }

    @Test
    void health_is_degraded_but_serving_and_docker_jobs_wait_while_other_jobs_run() throws Exception {
        var health = send(at("/health"));
        assertThat(health.statusCode()).isEqualTo(200);
        var body = json.readTree(health.body());
        assertThat(body.get("status").asString()).isEqualTo("degraded");
        assertThat(body.get("docker_available").asBoolean()).isFalse();
        assertThat(body.get("database").asString()).isEqualTo("up");

        var bisect = send(at("/bisect")
                .header("Authorization", "Bearer t")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("""
                        {"repo": "/tmp", "good": "v1", "bad": "main", "command": "true"}""")));
        assertThat(bisect.statusCode()).as(bisect.body()).isEqualTo(201);
        var bisectId = json.readTree(bisect.body()).get("id").asLong();
        var noop = send(at("/jobs")
                .header("Authorization", "Bearer t")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"kind\":\"noop\"}")));
        var noopId = json.readTree(noop.body()).get("id").asLong();

        await().atMost(Duration.ofSeconds(10))
                .until(() -> json.readTree(send(at("/job/" + noopId).header("Authorization", "Bearer t"))
                                .body())
                        .get("status")
                        .asString()
                        .equals("SUCCEEDED"));
        await().during(Duration.ofSeconds(1))
                .atMost(Duration.ofSeconds(3))
                .until(() -> json.readTree(send(at("/job/" + bisectId).header("Authorization", "Bearer t"))
                                .body())
                        .get("status")
                        .asString()
                        .equals("PENDING"));
    }
}
