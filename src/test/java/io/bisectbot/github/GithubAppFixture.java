package io.bisectbot.github;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.patch;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.awaitility.Awaitility.await;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import io.bisectbot.BisectbotApplication;
import io.bisectbot.TestDatabase;
import io.bisectbot.queue.JobHandler;
import io.bisectbot.queue.JobOutcome;
import io.bisectbot.queue.JobQueue;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.function.Predicate;
import javax.sql.DataSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The GitHub App end to end, shared by its tests: one application context on a real PostgreSQL, signed octokit
 * payloads in, and a fake GitHub API (WireMock, answering 429 and 502 now and then) that every write must reach
 * exactly once.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "bisectbot.bisect.enabled=false",
        classes = {BisectbotApplication.class, GithubAppFixture.FakeBisect.class})
abstract class GithubAppFixture {

    static final String SECRET = "test-secret";
    static final String CALLBACK_SECRET = "callback-secret-of-the-github-test";
    static final String ADMIN = "test-admin-token";
    static final String REPO = "/repos/Codertocat/Hello-World";
    static final String HEAD = "0123456789abcdef0123456789abcdef01234567";
    static final JsonMapper json = JsonMapper.builder().build();
    static final WireMockServer github = new WireMockServer(options().dynamicPort());

    // One fake GitHub for every test class of the shared context (its URL is in the context's properties), stopped
    // with the JVM rather than after the first class.
    static {
        github.start();
        stubGithub();
        Runtime.getRuntime().addShutdownHook(new Thread(github::stop));
    }

    @LocalServerPort
    int port;

    @Autowired
    DataSource dataSource;

    @Autowired
    JobQueue queue;

    @Autowired
    GithubReports reports;

    @Autowired
    DeliveryCatchUp catchUp;

    final HttpClient http = HttpClient.newHttpClient();

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.web.admin-token", () -> ADMIN);
        registry.add("bisectbot.queue.poll-interval", () -> "100ms");
        registry.add("bisectbot.queue.max-concurrent-jobs", () -> "4");
        // The test classes of this fixture share one context and installation 1; the default write budget (35 a
        // minute) would hold their later replies back for up to a minute. SharedRateBudgetTest tests the budget.
        registry.add("bisectbot.github.writes-per-minute", () -> "1000");
        registry.add("bisectbot.github.writes-per-hour", () -> "100000");
        registry.add("bisectbot.github.app-id", () -> "4242");
        registry.add("bisectbot.github.app-slug", () -> "bisectbot");
        registry.add("bisectbot.github.private-key", AppAuthTest::pkcs1Pem);
        registry.add("bisectbot.github.webhook-secrets", () -> "old-secret," + SECRET);
        registry.add("bisectbot.github.api-url", github::baseUrl);
        registry.add("bisectbot.github.public-url", () -> "https://bisectbot.example.com");
        registry.add("bisectbot.web.share-link-keys", () -> "share-link-key-of-the-github-test-0123456789");
        registry.add("bisectbot.github.write-spacing", () -> "20ms");
        registry.add("bisectbot.github.outbox-poll-interval", () -> "100ms");
        registry.add("bisectbot.github.outbox-backoff-base", () -> "100ms");
        // Tests that retry past the attempt count wait through the backoff: keep its ceiling low.
        registry.add("bisectbot.github.outbox-backoff-max", () -> "400ms");
        registry.add("bisectbot.github.outbox-max-attempts", () -> "5");
        registry.add("bisectbot.github.catch-up-max-per-minute", () -> "6000");
        registry.add("bisectbot.executor.allowed-images", () -> "ghcr.io/acme/");
        // Repository callbacks go to receivers on this machine's loopback address only.
        registry.add("bisectbot.callbacks.secrets", () -> CALLBACK_SECRET);
        registry.add("bisectbot.callbacks.allowed-hosts", () -> "127.0.0.1");
        registry.add("bisectbot.callbacks.poll-interval", () -> "100ms");
        registry.add("bisectbot.callbacks.backoff-base", () -> "50ms");
        registry.add("bisectbot.callbacks.backoff-max", () -> "200ms");
    }

    /** A bisect that reports twice, as a retried attempt would: GitHub must see each report once. */
    @TestConfiguration
    static class FakeBisect {
        @Bean
        JobHandler fakeBisect(GithubReports reports) {
            return new JobHandler() {
                @Override
                public String kind() {
                    return "bisect";
                }

                @Override
                public JobOutcome handle(io.bisectbot.queue.JobContext context) {
                    var ref = GithubRef.fromJson(context.payload());
                    for (int i = 0; i < 2; i++) {
                        reports.jobStarted(context.jobId(), ref);
                        reports.jobFinished(
                                context.jobId(),
                                ref,
                                "## Bisect\nFirst bad commit: `deadbeef`",
                                GithubReports.Conclusion.FAILURE);
                    }
                    return JobOutcome.succeeded(null);
                }
            };
        }
    }

    // --- the fake GitHub --------------------------------------------------------------------------------------

    static void stubGithub() {
        github.stubFor(post(urlPathMatching("/app/installations/\\d+/access_tokens"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"token\":\"ghs_test\",\"expires_at\":\""
                                + Instant.now().plus(Duration.ofHours(1)) + "\"}")));
        github.stubFor(get(urlPathEqualTo(REPO + "/contents/.github/bisectbot.yml"))
                .willReturn(aResponse()
                        .withStatus(200)
                        .withBody(
                                "bisect:\n  image: ghcr.io/acme/build:1\n  command: make test\n  timeout: 10m\n  parallelism: 2\n"
                                        + "tasks:\n  lint:\n    run: make lint\n    on: [command]\n")));
        github.stubFor(get(urlPathEqualTo("/repos/Codertocat/Broken/contents/.github/bisectbot.yml"))
                .willReturn(aResponse().withStatus(200).withBody("bisect:\n  comand: make test\n")));
        github.stubFor(get(urlPathEqualTo(REPO + "/pulls/1")).willReturn(okJson("""
                {"number": 1, "state": "open", "user": {"login": "Codertocat", "type": "User"},
                 "head": {"sha": "%s", "ref": "fix", "repo": {"id": 186853002, "full_name": "Codertocat/Hello-World"}},
                 "base": {"ref": "master"}}""".formatted(HEAD))));
        github.stubFor(get(urlPathMatching("/repos/.*/collaborators/Codertocat/permission"))
                .willReturn(okJson("{\"permission\":\"admin\",\"role_name\":\"admin\"}")));
        github.stubFor(get(urlPathEqualTo(REPO + "/collaborators/outsider/permission"))
                .willReturn(okJson("{\"permission\":\"read\",\"role_name\":\"read\"}")));
        github.stubFor(get(urlPathEqualTo(REPO + "/collaborators/private-member/permission"))
                .willReturn(okJson("{\"permission\":\"write\",\"role_name\":\"write\"}")));

        // Reactions: the first to comment 1001 is rate limited.
        github.stubFor(post(urlPathMatching("/repos/.*/issues/comments/\\d+/reactions"))
                .atPriority(10)
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"id\":1}")));
        github.stubFor(post(urlPathEqualTo(REPO + "/issues/comments/1001/reactions"))
                .atPriority(1)
                .inScenario("reaction")
                .whenScenarioStateIs(Scenario.STARTED)
                .willSetStateTo("open")
                .willReturn(aResponse()
                        .withStatus(429)
                        .withHeader("Retry-After", "1")
                        .withBody("{\"message\":\"You have exceeded a secondary rate limit\"}")));
        github.stubFor(post(urlPathEqualTo(REPO + "/issues/comments/404404/reactions"))
                .atPriority(1)
                .willReturn(aResponse().withStatus(404).withBody("{\"message\":\"Not Found\"}")));

        // Comments: none listed, except on issue 77 where page 2 holds a marked one; the first post fails with 502.
        github.stubFor(get(urlPathMatching("/repos/.*/issues/\\d+/comments"))
                .atPriority(10)
                .willReturn(okJson("[]")));
        github.stubFor(get(urlPathEqualTo(REPO + "/issues/77/comments"))
                .atPriority(2)
                .willReturn(okJson("[{\"id\":7701,\"body\":\"unrelated\"}]")
                        .withHeader(
                                "Link",
                                "<" + github.baseUrl() + REPO
                                        + "/issues/77/comments?per_page=100&page=2>; rel=\"next\"")));
        github.stubFor(get(urlPathEqualTo(REPO + "/issues/77/comments"))
                .withQueryParam("page", com.github.tomakehurst.wiremock.client.WireMock.equalTo("2"))
                .atPriority(1)
                .willReturn(okJson("""
                        [{"id": 7703, "body": "copied marker <!-- bisectbot:job:9999 -->", "user": {"login": "mallory", "type": "User"}},
                         {"id": 7702, "body": "old report\\n<!-- bisectbot:job:9999 -->",
                          "user": {"login": "bisectbot[bot]", "type": "Bot"}, "performed_via_github_app": {"id": 4242}}]""")));
        github.stubFor(post(urlPathMatching("/repos/.*/issues/\\d+/comments"))
                .atPriority(10)
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"id\":9000}")));
        github.stubFor(post(urlPathEqualTo(REPO + "/issues/1/comments"))
                .atPriority(1)
                .inScenario("comment")
                .whenScenarioStateIs(Scenario.STARTED)
                .willSetStateTo("open")
                .willReturn(aResponse().withStatus(502).withBody("bad gateway")));
        github.stubFor(patch(urlPathMatching("/repos/.*/issues/comments/\\d+")).willReturn(okJson("{}")));

        // Check runs: none exist yet; the first creation fails with 502.
        github.stubFor(get(urlPathMatching("/repos/.*/commits/.*/check-runs"))
                .willReturn(okJson("{\"total_count\":0,\"check_runs\":[]}")));
        github.stubFor(post(urlPathMatching("/repos/.*/check-runs"))
                .atPriority(10)
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"id\":4242}")));
        github.stubFor(post(urlPathMatching("/repos/.*/check-runs"))
                .atPriority(1)
                .inScenario("check")
                .whenScenarioStateIs(Scenario.STARTED)
                .willSetStateTo("open")
                .willReturn(aResponse().withStatus(502)));
        github.stubFor(patch(urlPathMatching("/repos/.*/check-runs/\\d+")).willReturn(okJson("{\"id\":4242}")));
    }

    /** Requests GitHub answered with 2xx: the writes that took effect. */
    static List<ServeEvent> effective(String method, String pathRegex) {
        return github.getAllServeEvents().stream()
                .filter(e -> e.getRequest().getMethod().getName().equals(method))
                .filter(e -> URI.create(e.getRequest().getUrl()).getPath().matches(pathRegex))
                .filter(e -> e.getResponse().getStatus() / 100 == 2)
                .toList();
    }

    static List<ServeEvent> requests(Predicate<ServeEvent> filter) {
        return github.getAllServeEvents().stream().filter(filter).toList();
    }

    // --- helpers ----------------------------------------------------------------------------------------------

    record Reply(int status, JsonNode body, String text) {}

    static ObjectNode payload(String name) {
        try (InputStream in = GithubAppFixture.class.getResourceAsStream("/github/payloads/" + name + ".json")) {
            return (ObjectNode) json.readTree(in);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static ObjectNode comment(String body, String association, String login, long issue, long commentId) {
        var payload = payload("issue_comment.created.with-installation");
        var comment = (ObjectNode) payload.get("comment");
        comment.put("body", body).put("author_association", association).put("id", commentId);
        ((ObjectNode) comment.get("user")).put("login", login);
        ((ObjectNode) payload.get("issue")).put("number", issue);
        return payload;
    }

    /** The identity of a comment's commands: what GitHub signed (the comment and its body), never the delivery id. */
    static String commandKey(JsonNode payload) {
        try {
            var body = payload.get("comment").get("body").asString();
            var hash = java.util.HexFormat.of()
                    .formatHex(java.security.MessageDigest.getInstance("SHA-256")
                            .digest(body.getBytes(StandardCharsets.UTF_8)))
                    .substring(0, 16);
            return "comment:"
                    + payload.get("repository").get("owner").get("login").asString() + "/"
                    + payload.get("repository").get("name").asString() + ":"
                    + payload.get("comment").get("id").asLong() + ":" + hash;
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    Reply deliver(String event, String delivery, byte[] body, String signature) throws Exception {
        var request = HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/webhooks/github"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                // A body above the limit is refused before it is read and its connection closed unread: a sender sees
                // the 413 only when it waits for 100 Continue before sending.
                .expectContinue(body.length > 1024 * 1024)
                .header("Content-Type", "application/json");
        if (event != null) {
            request.header("X-GitHub-Event", event);
        }
        if (delivery != null) {
            request.header("X-GitHub-Delivery", delivery);
        }
        if (signature != null) {
            request.header("X-Hub-Signature-256", signature);
        }
        var response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(response.statusCode(), json.readTree(response.body()), response.body());
    }

    Reply deliver(String event, String delivery, JsonNode payload) throws Exception {
        var body = json.writeValueAsBytes(payload);
        return deliver(event, delivery, body, WebhookSignatures.sign(SECRET, body));
    }

    JdbcClient jdbc() {
        return JdbcClient.create(dataSource);
    }

    String outcome(String delivery) {
        await().atMost(Duration.ofSeconds(20))
                .until(() -> jdbc().sql("SELECT outcome FROM github_deliveries WHERE delivery_id = :id")
                        .param("id", delivery)
                        .query(String.class)
                        .optional()
                        .isPresent());
        return jdbc().sql("SELECT outcome FROM github_deliveries WHERE delivery_id = :id")
                .param("id", delivery)
                .query(String.class)
                .single();
    }

    long jobsWithKey(String dedupKey) {
        return jdbc().sql("SELECT count(*) FROM jobs WHERE dedup_key = :key")
                .param("key", dedupKey)
                .query(Long.class)
                .single();
    }

    void awaitOutboxDone(String keyPattern) {
        await().atMost(Duration.ofSeconds(30))
                .until(() -> jdbc().sql(
                                        "SELECT count(*) FROM github_outbox WHERE idempotency_key LIKE :p AND status = 'PENDING'")
                                .param("p", keyPattern)
                                .query(Long.class)
                                .single()
                        == 0);
    }

    static String id() {
        return UUID.randomUUID().toString();
    }

    // --- intake -----------------------------------------------------------------------------------------------

    // --- processing -------------------------------------------------------------------------------------------

    // --- outbox -----------------------------------------------------------------------------------------------

    // --- catch-up after downtime --------------------------------------------------------------------------------

    static String hookDelivery(long id, String guid, Instant at, boolean redelivery, String status, int code) {
        return """
                {"id": %d, "guid": "%s", "delivered_at": "%s", "redelivery": %s, "duration": 0.27,
                 "status": "%s", "status_code": %d, "event": "issue_comment", "action": "created",
                 "installation_id": 1, "repository_id": 1296269}""".formatted(id, guid, at, redelivery, status, code);
    }

    // --- admin and metrics ------------------------------------------------------------------------------------

    Reply send(String method, String path, String token) throws Exception {
        var request = HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        var response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode body = null;
        try {
            body = json.readTree(response.body());
        } catch (RuntimeException ignored) {
            // Prometheus text.
        }
        return new Reply(response.statusCode(), body, response.body());
    }
}
