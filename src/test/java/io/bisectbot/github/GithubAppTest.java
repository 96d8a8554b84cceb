package io.bisectbot.github;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.patch;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import io.bisectbot.TestDatabase;
import io.bisectbot.queue.JobHandler;
import io.bisectbot.queue.JobOutcome;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.NewJob;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The GitHub App end to end: signed octokit payloads in, jobs and rows out, and every write to a fake GitHub API
 * (which answers 429 and 502 now and then) made exactly once.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = "bisectbot.bisect.enabled=false")
class GithubAppTest {

    static final String SECRET = "test-secret";
    static final String ADMIN = "test-admin-token";
    static final String REPO = "/repos/Codertocat/Hello-World";
    static final String HEAD = "0123456789abcdef0123456789abcdef01234567";
    static final JsonMapper json = JsonMapper.builder().build();
    static final WireMockServer github = new WireMockServer(options().dynamicPort());

    static {
        github.start();
        stubGithub();
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

    private final HttpClient http = HttpClient.newHttpClient();

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.web.admin-token", () -> ADMIN);
        registry.add("bisectbot.queue.poll-interval", () -> "100ms");
        registry.add("bisectbot.queue.max-concurrent-jobs", () -> "4");
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
        registry.add("bisectbot.github.outbox-max-attempts", () -> "5");
        registry.add("bisectbot.github.catch-up-max-per-minute", () -> "6000");
        registry.add("bisectbot.executor.allowed-images", () -> "ghcr.io/acme/");
    }

    @AfterAll
    static void stopGithub() {
        github.stop();
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
                        reports.jobFinished(context.jobId(), ref, "## Bisect\nFirst bad commit: `deadbeef`",
                                GithubReports.Conclusion.FAILURE);
                    }
                    return JobOutcome.succeeded(null);
                }
            };
        }
    }

    // --- the fake GitHub --------------------------------------------------------------------------------------

    static void stubGithub() {
        github.stubFor(post(urlPathMatching("/app/installations/\\d+/access_tokens")).willReturn(aResponse().withStatus(201)
                .withHeader("Content-Type", "application/json")
                .withBody("{\"token\":\"ghs_test\",\"expires_at\":\"" + Instant.now().plus(Duration.ofHours(1)) + "\"}")));
        github.stubFor(get(urlPathEqualTo(REPO + "/contents/.github/bisectbot.yml")).willReturn(aResponse().withStatus(200)
                .withBody("bisect:\n  image: ghcr.io/acme/build:1\n  command: make test\n  timeout: 10m\n  parallelism: 2\n"
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
        github.stubFor(post(urlPathMatching("/repos/.*/issues/comments/\\d+/reactions")).atPriority(10)
                .willReturn(aResponse().withStatus(201).withHeader("Content-Type", "application/json").withBody("{\"id\":1}")));
        github.stubFor(post(urlPathEqualTo(REPO + "/issues/comments/1001/reactions")).atPriority(1)
                .inScenario("reaction").whenScenarioStateIs(Scenario.STARTED).willSetStateTo("open")
                .willReturn(aResponse().withStatus(429).withHeader("Retry-After", "1")
                        .withBody("{\"message\":\"You have exceeded a secondary rate limit\"}")));
        github.stubFor(post(urlPathEqualTo(REPO + "/issues/comments/404404/reactions")).atPriority(1)
                .willReturn(aResponse().withStatus(404).withBody("{\"message\":\"Not Found\"}")));

        // Comments: none listed, except on issue 77 where page 2 holds a marked one; the first post fails with 502.
        github.stubFor(get(urlPathMatching("/repos/.*/issues/\\d+/comments")).atPriority(10).willReturn(okJson("[]")));
        github.stubFor(get(urlPathEqualTo(REPO + "/issues/77/comments")).atPriority(2)
                .willReturn(okJson("[{\"id\":7701,\"body\":\"unrelated\"}]")
                        .withHeader("Link", "<" + github.baseUrl() + REPO + "/issues/77/comments?per_page=100&page=2>; rel=\"next\"")));
        github.stubFor(get(urlPathEqualTo(REPO + "/issues/77/comments")).withQueryParam("page", com.github.tomakehurst.wiremock.client.WireMock.equalTo("2"))
                .atPriority(1).willReturn(okJson("""
                        [{"id": 7703, "body": "copied marker <!-- bisectbot:job:9999 -->", "user": {"login": "mallory", "type": "User"}},
                         {"id": 7702, "body": "old report\\n<!-- bisectbot:job:9999 -->",
                          "user": {"login": "bisectbot[bot]", "type": "Bot"}, "performed_via_github_app": {"id": 4242}}]""")));
        github.stubFor(post(urlPathMatching("/repos/.*/issues/\\d+/comments")).atPriority(10)
                .willReturn(aResponse().withStatus(201).withHeader("Content-Type", "application/json").withBody("{\"id\":9000}")));
        github.stubFor(post(urlPathEqualTo(REPO + "/issues/1/comments")).atPriority(1)
                .inScenario("comment").whenScenarioStateIs(Scenario.STARTED).willSetStateTo("open")
                .willReturn(aResponse().withStatus(502).withBody("bad gateway")));
        github.stubFor(patch(urlPathMatching("/repos/.*/issues/comments/\\d+")).willReturn(okJson("{}")));

        // Check runs: none exist yet; the first creation fails with 502.
        github.stubFor(get(urlPathMatching("/repos/.*/commits/.*/check-runs")).willReturn(okJson("{\"total_count\":0,\"check_runs\":[]}")));
        github.stubFor(post(urlPathMatching("/repos/.*/check-runs")).atPriority(10)
                .willReturn(aResponse().withStatus(201).withHeader("Content-Type", "application/json").withBody("{\"id\":4242}")));
        github.stubFor(post(urlPathMatching("/repos/.*/check-runs")).atPriority(1)
                .inScenario("check").whenScenarioStateIs(Scenario.STARTED).willSetStateTo("open")
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

    record Reply(int status, JsonNode body, String text) {
    }

    static ObjectNode payload(String name) {
        try (InputStream in = GithubAppTest.class.getResourceAsStream("/github/payloads/" + name + ".json")) {
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
            var hash = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(body.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
            return "comment:" + payload.get("repository").get("owner").get("login").asString() + "/"
                    + payload.get("repository").get("name").asString() + ":" + payload.get("comment").get("id").asLong() + ":" + hash;
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
        await().atMost(Duration.ofSeconds(20)).until(() -> jdbc().sql("SELECT outcome FROM github_deliveries WHERE delivery_id = :id")
                .param("id", delivery).query(String.class).optional().isPresent());
        return jdbc().sql("SELECT outcome FROM github_deliveries WHERE delivery_id = :id").param("id", delivery).query(String.class).single();
    }

    long jobsWithKey(String dedupKey) {
        return jdbc().sql("SELECT count(*) FROM jobs WHERE dedup_key = :key").param("key", dedupKey).query(Long.class).single();
    }

    void awaitOutboxDone(String keyPattern) {
        await().atMost(Duration.ofSeconds(30)).until(() -> jdbc().sql(
                        "SELECT count(*) FROM github_outbox WHERE idempotency_key LIKE :p AND status = 'PENDING'")
                .param("p", keyPattern).query(Long.class).single() == 0);
    }

    static String id() {
        return UUID.randomUUID().toString();
    }

    // --- intake -----------------------------------------------------------------------------------------------

    @Test
    void ping_gets_200_and_unknown_events_202_ignored_without_storing() throws Exception {
        var ping = id();
        var reply = deliver("ping", ping, payload("ping"));
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.body().get("result").asString()).isEqualTo("pong");
        var star = id();
        var ignored = deliver("star", star, json.readTree("{\"action\":\"created\"}"));
        assertThat(ignored.status()).isEqualTo(202);
        assertThat(ignored.body().get("result").asString()).isEqualTo("ignored");
        assertThat(jdbc().sql("SELECT count(*) FROM github_deliveries WHERE delivery_id IN (:a, :b)")
                .param("a", ping).param("b", star).query(Long.class).single()).isZero();
    }

    @Test
    void rejected_requests_store_no_work() throws Exception {
        var body = json.writeValueAsBytes(payload("installation.created"));
        var good = WebhookSignatures.sign(SECRET, body);
        var ids = new ArrayList<String>();
        Callable<String> next = () -> {
            var id = id();
            ids.add(id);
            return id;
        };

        var missing = deliver("installation", next.call(), body, null);
        assertThat(missing.status()).isEqualTo(401);
        assertThat(missing.body().get("error").asString()).contains("missing X-Hub-Signature-256");
        assertThat(deliver("installation", next.call(), body, WebhookSignatures.sign("wrong", body)).status()).isEqualTo(401);
        assertThat(deliver("installation", next.call(), body, "sha256=nothex").status()).isEqualTo(401);
        var truncated = Arrays.copyOf(body, body.length / 2);
        assertThat(deliver("installation", next.call(), truncated, good).status()).isEqualTo(401);
        var resigned = deliver("installation", next.call(), truncated, WebhookSignatures.sign(SECRET, truncated));
        assertThat(resigned.status()).isEqualTo(400);
        assertThat(resigned.body().get("error").asString()).contains("not valid JSON");
        assertThat(deliver(null, next.call(), body, good).status()).isEqualTo(400);
        assertThat(deliver("installation", null, body, good).status()).isEqualTo(400);
        var huge = new byte[25 * 1024 * 1024 + 1];
        Arrays.fill(huge, (byte) ' ');
        var tooLarge = deliver("installation", next.call(), huge, WebhookSignatures.sign(SECRET, huge));
        assertThat(tooLarge.status()).isEqualTo(413);
        assertThat(tooLarge.body().get("status").asInt()).isEqualTo(413);

        // The old secret of a rotation is still accepted.
        var rotated = next.call();
        assertThat(deliver("installation", rotated, body, WebhookSignatures.sign("old-secret", body)).status()).isEqualTo(202);
        ids.remove(rotated);
        for (var id : ids) {
            assertThat(jdbc().sql("SELECT count(*) FROM github_deliveries WHERE delivery_id = :id").param("id", id)
                    .query(Long.class).single()).isZero();
            assertThat(jobsWithKey("github-delivery:" + id)).isZero();
        }
    }

    @Test
    void the_same_delivery_posted_concurrently_makes_one_job() throws Exception {
        var delivery = id();
        var payload = payload("pull_request.opened");
        var statuses = new ArrayList<Future<Reply>>();
        try (var pool = Executors.newFixedThreadPool(8)) {
            for (int i = 0; i < 8; i++) {
                statuses.add(pool.submit(() -> deliver("pull_request", delivery, payload)));
            }
        }
        var results = new ArrayList<String>();
        for (var f : statuses) {
            var reply = f.get();
            results.add(reply.status() + " " + reply.body().get("result").asString());
        }
        assertThat(results).containsOnlyOnce("202 queued").filteredOn(r -> !r.equals("202 queued"))
                .hasSize(7).allMatch(r -> r.equals("200 duplicate"));
        assertThat(jobsWithKey("github-delivery:" + delivery)).isEqualTo(1);
        var again = deliver("pull_request", delivery, payload);
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.body().get("result").asString()).isEqualTo("duplicate");
        assertThat(jdbc().sql("SELECT count(*) FROM jobs WHERE payload ->> 'delivery_id' = :id").param("id", delivery)
                .query(Long.class).single()).isEqualTo(1);
    }

    @Test
    void stored_deliveries_keep_headers_without_the_signature() throws Exception {
        var delivery = id();
        assertThat(deliver("pull_request", delivery, payload("pull_request.synchronize")).status()).isEqualTo(202);
        var headers = json.readTree(jdbc().sql("SELECT headers::text FROM github_deliveries WHERE delivery_id = :id")
                .param("id", delivery).query(String.class).single());
        assertThat(headers.get("x-github-event").asString()).isEqualTo("pull_request");
        assertThat(headers.get("x-github-delivery").asString()).isEqualTo(delivery);
        assertThat(headers.propertyNames()).noneMatch(h -> h.contains("signature"));
    }

    // --- processing -------------------------------------------------------------------------------------------

    @Test
    void installation_events_maintain_installations_and_repositories() throws Exception {
        var created = id();
        deliver("installation", created, payload("installation.created"));
        assertThat(outcome(created)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT account_login FROM installations WHERE id = 957387").query(String.class).single())
                .isEqualTo("Codertocat");
        assertThat(jdbc().sql("SELECT full_name FROM repositories WHERE installation_id = 957387 ORDER BY id")
                .query(String.class).list()).contains("Codertocat/Hello-World");

        var added = id();
        deliver("installation_repositories", added, payload("installation_repositories.added"));
        assertThat(outcome(added)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT installation_id FROM repositories WHERE id = 186853007").query(Long.class).single())
                .isEqualTo(957387L);

        var suspend = payload("installation.created");
        suspend.put("action", "suspend");
        var suspended = id();
        deliver("installation", suspended, suspend);
        assertThat(outcome(suspended)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT suspended_at IS NOT NULL FROM installations WHERE id = 957387").query(Boolean.class).single()).isTrue();
        suspend.put("action", "unsuspend");
        var unsuspended = id();
        deliver("installation", unsuspended, suspend);
        assertThat(outcome(unsuspended)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT suspended_at IS NULL FROM installations WHERE id = 957387").query(Boolean.class).single()).isTrue();

        var remove = payload("installation_repositories.added");
        remove.put("action", "removed");
        remove.set("repositories_removed", remove.get("repositories_added"));
        remove.putArray("repositories_added");
        var removed = id();
        deliver("installation_repositories", removed, remove);
        assertThat(outcome(removed)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT count(*) FROM repositories WHERE id = 186853007").query(Long.class).single()).isZero();

        suspend.put("action", "deleted");
        var deleted = id();
        deliver("installation", deleted, suspend);
        assertThat(outcome(deleted)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT count(*) FROM installations WHERE id = 957387").query(Long.class).single()).isZero();
        assertThat(jdbc().sql("SELECT count(*) FROM repositories WHERE installation_id = 957387").query(Long.class).single()).isZero();
    }

    @Test
    void pull_request_events_record_the_head_commit() throws Exception {
        var opened = id();
        deliver("pull_request", opened, payload("pull_request.opened"));
        assertThat(outcome(opened)).isEqualTo("processed");
        var sync = payload("pull_request.synchronize");
        ((ObjectNode) sync.get("pull_request").get("head")).put("sha", "feedface");
        var synchronize = id();
        deliver("pull_request", synchronize, sync);
        assertThat(outcome(synchronize)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT head_sha FROM pull_requests WHERE repository_id = 186853002 AND number = 2")
                .query(String.class).single()).isEqualTo("feedface");
    }

    @Test
    void a_bisect_command_on_a_pull_request_runs_once_and_reports_once_through_429_and_502() throws Exception {
        var delivery = id();
        var payload = comment("Let's find it.\n/bisect good=v1.0 bad=HEAD k=3 -- make check", "OWNER", "Codertocat", 1, 1001);
        ((ObjectNode) payload.get("issue")).putObject("pull_request").put("url", "https://api.github.com" + REPO + "/pulls/1");
        assertThat(deliver("issue_comment", delivery, payload).status()).isEqualTo(202);

        var key = "github-command:" + commandKey(payload) + ":1";
        await().atMost(Duration.ofSeconds(20)).until(() -> jobsWithKey(key) == 1);
        var job = jdbc().sql("SELECT id, status, payload::text FROM jobs WHERE dedup_key = :key").param("key", key)
                .query((rs, n) -> new Object[] {rs.getLong(1), rs.getString(2), rs.getString(3)}).single();
        var jobId = (long) job[0];
        var bisect = json.readTree((String) job[2]);
        assertThat(bisect).isEqualTo(json.readTree("""
                {"repo":"https://github.com/Codertocat/Hello-World.git","good":["v1.0"],"bad":"HEAD","command":"make check",
                 "image":"ghcr.io/acme/build:1","timeout_seconds":600,"parallelism":3,"repeat":1,
                 "github":{"installation_id":1,"owner":"Codertocat","repo":"Hello-World","issue_number":1,
                           "comment_id":1001,"head_sha":"%s","private":false,"untrusted":false,
                           "trust_reason":"its head is in this repository and @Codertocat has write access"}}""".formatted(HEAD)));
        await().atMost(Duration.ofSeconds(20)).until(() -> queue.find(jobId).orElseThrow().status().name().equals("SUCCEEDED"));
        awaitOutboxDone("%job:" + jobId);
        awaitOutboxDone("reaction:eyes:Codertocat/Hello-World:1001");

        assertThat(effective("POST", REPO + "/issues/comments/1001/reactions"))
                .extracting(e -> json.readTree(e.getRequest().getBodyAsString()).get("content").asString())
                .containsExactlyInAnyOrder("eyes", "rocket");
        assertThat(requests(e -> e.getResponse().getStatus() == 429)).isNotEmpty();
        var checkRuns = effective("POST", REPO + "/check-runs");
        assertThat(checkRuns).hasSize(1);
        var created = json.readTree(checkRuns.getFirst().getRequest().getBodyAsString());
        assertThat(created.get("head_sha").asString()).isEqualTo(HEAD);
        assertThat(created.get("status").asString()).isEqualTo("in_progress");
        // Hello-World is public ("private": false in the delivery): its report link is signed.
        assertThat(created.get("details_url").asString())
                .matches("https://bisectbot\\.example\\.com/job/" + jobId + "/report\\?share=\\d+\\.[A-Za-z0-9_-]+");
        var completed = effective("PATCH", REPO + "/check-runs/4242");
        assertThat(completed).hasSize(1);
        var update = json.readTree(completed.getFirst().getRequest().getBodyAsString());
        assertThat(update.get("conclusion").asString()).isEqualTo("failure");
        assertThat(update.get("output").get("summary").asString()).contains("First bad commit");
        var comments = effective("POST", REPO + "/issues/1/comments");
        assertThat(comments).hasSize(1);
        assertThat(comments.getFirst().getRequest().getBodyAsString()).contains("<!-- bisectbot:job:" + jobId + " -->", "deadbeef");
        assertThat(requests(e -> e.getResponse().getStatus() == 502)).isNotEmpty();
        // Installation tokens were fetched with the App's JWT.
        assertThat(requests(e -> e.getRequest().getUrl().endsWith("/access_tokens")))
                .allMatch(e -> e.getRequest().getHeader("Authorization").startsWith("Bearer ey"));
        assertThat(requests(e -> e.getRequest().getUrl().contains("/issues/comments/1001/")))
                .allMatch(e -> e.getRequest().getHeader("Authorization").equals("token ghs_test"));

        // A redelivery changes nothing.
        assertThat(deliver("issue_comment", delivery, payload).body().get("result").asString()).isEqualTo("duplicate");
        assertThat(jobsWithKey(key)).isEqualTo(1);
    }

    @Test
    void malformed_commands_get_an_error_reply_and_no_job() throws Exception {
        var delivery = id();
        var payload = comment("/bisect good=v1 k=2", "MEMBER", "Codertocat", 11, 1101);
        deliver("issue_comment", delivery, payload);
        assertThat(outcome(delivery)).contains("malformed line 0");
        awaitOutboxDone("comment:error:" + commandKey(payload) + ":0");
        var replies = effective("POST", REPO + "/issues/11/comments");
        assertThat(replies).hasSize(1);
        var body = json.readTree(replies.getFirst().getRequest().getBodyAsString()).get("body").asString();
        assertThat(body).startsWith("**Error**:").contains("> /bisect good=v1 k=2", "Usage: `/bisect good=<ref> bad=<ref>");
        assertThat(jobsWithKey("github-command:" + commandKey(payload) + ":0")).isZero();
    }

    @Test
    void only_people_with_write_access_may_run_commands() throws Exception {
        var outsider = id();
        var refused = comment("/bisect good=a bad=b", "NONE", "outsider", 12, 1201);
        deliver("issue_comment", outsider, refused);
        assertThat(outcome(outsider)).startsWith("refused");
        awaitOutboxDone("comment:refusal:Codertocat/Hello-World#12:outsider:%");
        // More commands from the same person in the same hour get no second refusal.
        var again = id();
        deliver("issue_comment", again, comment("/help", "NONE", "outsider", 12, 1202));
        assertThat(outcome(again)).startsWith("refused");
        awaitOutboxDone("comment:refusal:Codertocat/Hello-World#12:outsider:%");
        assertThat(effective("POST", REPO + "/issues/12/comments")).singleElement()
                .matches(e -> e.getRequest().getBodyAsString().contains("only people with write access"));
        assertThat(jobsWithKey("github-command:" + commandKey(refused) + ":0")).isZero();

        // A read-only organisation member shows as MEMBER, and that alone is not write access: GitHub is asked.
        var readOnly = id();
        deliver("issue_comment", readOnly, comment("/bisect good=a bad=b", "MEMBER", "outsider", 18, 1801));
        assertThat(outcome(readOnly)).startsWith("refused");

        // An org member with private membership shows as CONTRIBUTOR; GitHub confirms the write access.
        var member = id();
        var accepted = comment("/bisect good=a bad=b", "CONTRIBUTOR", "private-member", 13, 1301);
        deliver("issue_comment", member, accepted);
        assertThat(outcome(member)).contains("bisect job");
        assertThat(jobsWithKey("github-command:" + commandKey(accepted) + ":0")).isEqualTo(1);

        // The same signed body again under a new delivery id is stored and answered, and starts nothing.
        var replay = id();
        assertThat(deliver("issue_comment", replay, accepted).status()).isEqualTo(202);
        assertThat(outcome(replay)).contains("bisect job");
        assertThat(jdbc().sql("SELECT count(*) FROM jobs WHERE kind = 'bisect' AND payload -> 'github' ->> 'comment_id' = '1301'")
                .query(Long.class).single()).isEqualTo(1);
    }

    @Test
    void comments_by_bots_are_ignored() throws Exception {
        var delivery = id();
        var payload = comment("/bisect good=a bad=b", "OWNER", "bisectbot[bot]", 14, 1401);
        deliver("issue_comment", delivery, payload);
        assertThat(outcome(delivery)).isEqualTo("ignored: comment by a bot");
        var other = id();
        var bot = comment("/help", "NONE", "renovate[bot]", 14, 1402);
        ((ObjectNode) bot.get("comment").get("user")).put("type", "Bot");
        deliver("issue_comment", other, bot);
        assertThat(outcome(other)).isEqualTo("ignored: comment by a bot");
        var plain = id();
        deliver("issue_comment", plain, comment("LGTM", "OWNER", "Codertocat", 14, 1403));
        assertThat(outcome(plain)).isEqualTo("ignored: no command");
        assertThat(requests(e -> e.getRequest().getUrl().contains("/issues/14/") || e.getRequest().getUrl().contains("/comments/140"))).isEmpty();
    }

    @Test
    void a_delivery_is_retried_while_github_answers_5xx_within_the_retry_window_and_given_up_after_it() throws Exception {
        github.stubFor(get(urlPathEqualTo("/repos/Codertocat/Down/contents/.github/bisectbot.yml")).atPriority(1)
                .willReturn(aResponse().withStatus(502).withBody("{\"message\":\"Server Error\"}")));
        var delivery = id();
        var payload = comment("/bisect good=a bad=b", "OWNER", "Codertocat", 22, 2201);
        ((ObjectNode) payload.get("repository")).put("name", "Down").put("clone_url", "https://github.com/Codertocat/Down.git");
        deliver("issue_comment", delivery, payload);
        var key = "github-delivery:" + delivery;
        await().atMost(Duration.ofSeconds(30)).until(() -> jdbc().sql(
                "SELECT count(*) FROM job_events e JOIN jobs j ON j.id = e.job_id WHERE j.dedup_key = :key AND e.type = 'retry_scheduled'")
                .param("key", key).query(Long.class).single() >= 1);
        assertThat(jdbc().sql("SELECT max_attempts FROM jobs WHERE dedup_key = :key").param("key", key).query(Integer.class).single())
                .as("attempts are not the limit; the window is").isGreaterThanOrEqualTo(1000);
        // A day later (GITHUB_DELIVERY_RETRY_FOR is 24 h), GitHub still down: the next attempt gives up.
        jdbc().sql("UPDATE jobs SET created_at = now() - interval '25 hours', run_at = now() WHERE dedup_key = :key AND status = 'PENDING'")
                .param("key", key).update();
        await().atMost(Duration.ofSeconds(30)).until(() -> "FAILED".equals(jdbc().sql("SELECT status FROM jobs WHERE dedup_key = :key")
                .param("key", key).query(String.class).single()));
        assertThat(jdbc().sql("SELECT last_error FROM jobs WHERE dedup_key = :key").param("key", key).query(String.class).single())
                .contains("giving up");
        // The command gets one reply saying so, queued in the outbox (which keeps trying while GitHub is down).
        var reply = jdbc().sql("SELECT request ->> 'body' FROM github_outbox WHERE idempotency_key = :k")
                .param("k", "comment:given-up:" + commandKey(payload)).query(String.class).list();
        assertThat(reply).hasSize(1);
        assertThat(reply.getFirst()).startsWith("**Error**: this command could not be processed").contains("502")
                .contains("Post it again");
        assertThat(jdbc().sql("SELECT count(*) FROM github_outbox WHERE idempotency_key LIKE 'comment:given-up:%'")
                .query(Long.class).single()).isEqualTo(1);
    }

    @Test
    void an_invalid_repository_config_gets_one_error_and_no_job() throws Exception {
        var delivery = id();
        var payload = comment("/bisect good=a bad=b\n/bisect good=c bad=d", "OWNER", "Codertocat", 15, 1501);
        ((ObjectNode) payload.get("repository")).put("name", "Broken").put("clone_url", "https://github.com/Codertocat/Broken.git");
        deliver("issue_comment", delivery, payload);
        assertThat(outcome(delivery)).contains("config error");
        awaitOutboxDone("comment:config:" + commandKey(payload));
        assertThat(effective("POST", "/repos/Codertocat/Broken/issues/15/comments")).singleElement()
                .matches(e -> e.getRequest().getBodyAsString().contains("unknown key `bisect.comand`"));
        assertThat(jdbc().sql("SELECT count(*) FROM jobs WHERE dedup_key LIKE :k").param("k", "github-command:" + commandKey(payload) + "%")
                .query(Long.class).single()).isZero();
    }

    @Test
    void cancel_stops_the_threads_jobs_and_help_answers() throws Exception {
        var github = json.readTree("{\"github\":{\"installation_id\":1,\"owner\":\"Codertocat\",\"repo\":\"Hello-World\",\"issue_number\":16}}");
        var waiting = queue.enqueue(NewJob.of("sleep", github).withRunAt(Instant.parse("2099-01-01T00:00:00Z"))).job().id();
        var elsewhere = queue.enqueue(NewJob.of("sleep", json.readTree(
                "{\"github\":{\"installation_id\":1,\"owner\":\"Codertocat\",\"repo\":\"Hello-World\",\"issue_number\":17}}"))
                .withRunAt(Instant.parse("2099-01-01T00:00:00Z"))).job().id();
        var delivery = id();
        var payload = comment("/cancel\n/help", "COLLABORATOR", "Codertocat", 16, 1601);
        deliver("issue_comment", delivery, payload);
        assertThat(outcome(delivery)).contains("cancelled [" + waiting + "]", "help");
        assertThat(queue.find(waiting).orElseThrow().status().name()).isEqualTo("CANCELLED");
        assertThat(queue.find(elsewhere).orElseThrow().status().name()).isEqualTo("PENDING");
        awaitOutboxDone("comment:%" + commandKey(payload) + "%");
        assertThat(effective("POST", REPO + "/issues/16/comments")).extracting(e -> e.getRequest().getBodyAsString())
                .anyMatch(b -> b.contains("Cancelled job " + waiting))
                .anyMatch(b -> b.contains("bisectbot commands"))
                .hasSize(2);
    }

    // --- outbox -----------------------------------------------------------------------------------------------

    @Test
    void a_report_edits_the_marked_comment_found_on_a_later_page_and_is_truncated() {
        var ref = new GithubRef(1, "Codertocat", "Hello-World", 77, null, null);
        var report = "new report " + "x".repeat(70_000);
        new TransactionTemplate(new DataSourceTransactionManager(dataSource)).executeWithoutResult(tx -> {
            reports.jobFinished(9999, ref, report, GithubReports.Conclusion.SUCCESS);
            reports.jobFinished(9999, ref, report, GithubReports.Conclusion.SUCCESS);
        });
        awaitOutboxDone("comment:job:9999");
        var edits = effective("PATCH", REPO + "/issues/comments/7702");
        assertThat(edits).hasSize(1);
        var body = json.readTree(edits.getFirst().getRequest().getBodyAsString()).get("body").asString();
        assertThat(body.length()).isLessThanOrEqualTo(65_536);
        assertThat(body).startsWith("<!-- bisectbot:job:9999 -->").contains("new report")
                .endsWith("[full report](https://bisectbot.example.com/job/9999/report))");
        assertThat(effective("POST", REPO + "/issues/77/comments")).isEmpty();
        // Someone else's comment that holds the marker is never edited.
        assertThat(effective("PATCH", REPO + "/issues/comments/7703")).isEmpty();
    }

    @Test
    void a_report_link_is_signed_only_for_a_repository_known_to_be_public() {
        var publicRef = new GithubRef(1, "Codertocat", "Hello-World", 77, null, null, false);
        var privateRef = new GithubRef(1, "Codertocat", "Secret", 77, null, null, true);
        var unknown = new GithubRef(1, "Codertocat", "Hello-World", 77, null, null);
        assertThat(reports.reportUrl(5, publicRef)).startsWith("https://bisectbot.example.com/job/5/report?share=");
        assertThat(reports.reportUrl(5, privateRef)).isEqualTo("https://bisectbot.example.com/job/5/report");
        assertThat(reports.reportUrl(5, unknown)).isEqualTo("https://bisectbot.example.com/job/5/report");
        // The visibility travels with the job's payload; a payload from before it was stored counts as private.
        assertThat(GithubRef.fromJson(publicRef.toJson()).privateRepository()).isFalse();
        assertThat(GithubRef.fromJson(privateRef.toJson()).privateRepository()).isTrue();
        var old = publicRef.toJson();
        old.remove("private");
        assertThat(GithubRef.fromJson(old).privateRepository()).isTrue();
    }

    @Test
    void a_write_github_refuses_is_dead_lettered_and_counted() throws Exception {
        reports.commandAccepted(new GithubRef(1, "Codertocat", "Hello-World", 18, 404404L, null));
        await().atMost(Duration.ofSeconds(20)).until(() -> "DEAD".equals(jdbc().sql(
                "SELECT status FROM github_outbox WHERE idempotency_key = 'reaction:eyes:Codertocat/Hello-World:404404'")
                .query(String.class).single()));
        var stats = send("GET", "/admin/outbox", ADMIN);
        assertThat(stats.status()).isEqualTo(200);
        assertThat(stats.body().get("dead").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(stats.body().has("oldest_pending_age_seconds")).isTrue();
        assertThat(send("GET", "/admin/outbox", null).status()).isEqualTo(401);
    }

    @Test
    void a_write_github_answers_with_5xx_is_retried_past_the_attempt_count_until_it_goes_through() {
        var path = REPO + "/issues/comments/503503/reactions";
        var down = github.stubFor(post(urlPathEqualTo(path)).atPriority(1)
                .willReturn(aResponse().withStatus(503).withHeader("Content-Type", "application/json")
                        .withBody("{\"message\":\"Service Unavailable\"}")));
        reports.commandAccepted(new GithubRef(1, "Codertocat", "Hello-World", 21, 503503L, null));
        var key = "reaction:eyes:Codertocat/Hello-World:503503";
        // GITHUB_OUTBOX_MAX_ATTEMPTS is 5 here; within GITHUB_OUTBOX_RETRY_FOR (24 h) the row stays PENDING.
        await().atMost(Duration.ofSeconds(30)).until(() -> jdbc().sql(
                "SELECT attempts FROM github_outbox WHERE idempotency_key = :key").param("key", key).query(Integer.class).single() >= 7);
        assertThat(jdbc().sql("SELECT status FROM github_outbox WHERE idempotency_key = :key").param("key", key)
                .query(String.class).single()).isEqualTo("PENDING");
        github.removeStub(down);
        github.stubFor(post(urlPathEqualTo(path)).atPriority(1).willReturn(okJson("{\"id\": 9001, \"content\": \"eyes\"}").withStatus(201)));
        awaitOutboxDone(key);
        assertThat(effective("POST", path)).hasSize(1);
    }

    @Test
    void a_row_whose_lease_ran_out_and_was_taken_over_is_not_written_by_the_instance_that_waited() {
        var outbox = new Outbox(dataSource, json, java.time.Clock.systemUTC());
        var request = json.createObjectNode().put("owner", "Codertocat").put("repo", "Hello-World")
                .put("comment_id", 2301).put("content", "eyes");
        jdbc().sql("""
                INSERT INTO github_outbox (idempotency_key, installation_id, action, request, next_attempt_at, created_at,
                                           attempts, lease_owner, lease_until)
                VALUES ('lease-test:taken', 1, 'reaction', CAST(:r AS jsonb), now() + interval '1 hour', now(), 1, 'slow', now() - interval '1 second'),
                       ('lease-test:kept', 1, 'reaction', CAST(:r AS jsonb), now() + interval '1 hour', now(), 1, 'slow', now() + interval '1 minute')""")
                .param("r", json.writeValueAsString(request)).update();
        var rows = jdbc().sql("SELECT id, idempotency_key, created_at FROM github_outbox WHERE idempotency_key LIKE 'lease-test:%' ORDER BY id")
                .query((rs, n) -> new Outbox.Row(rs.getLong(1), rs.getString(2), 1, Outbox.REACTION, request, null, 1, "slow",
                        rs.getTimestamp(3).toInstant())).list();
        // While "slow" worked through its batch, the first row's lease ran out and another instance claimed it.
        jdbc().sql("UPDATE github_outbox SET lease_owner = 'fast', attempts = 2, lease_until = now() + interval '1 minute' "
                + "WHERE idempotency_key = 'lease-test:taken'").update();
        assertThat(outbox.renew(rows.get(0), "slow", Duration.ofMinutes(2))).isFalse();
        assertThat(outbox.renew(rows.get(1), "slow", Duration.ofMinutes(2))).isTrue();
        assertThat(jdbc().sql("SELECT lease_until > now() + interval '90 seconds' FROM github_outbox WHERE idempotency_key = 'lease-test:kept'")
                .query(Boolean.class).single()).isTrue();
    }

    @Test
    void an_expired_lease_of_a_crashed_instance_is_taken_over() {
        var outbox = new Outbox(dataSource, json, java.time.Clock.systemUTC());
        var ref = new GithubRef(1, "Codertocat", "Hello-World", 19, 1901L, null);
        new TransactionTemplate(new DataSourceTransactionManager(dataSource)).executeWithoutResult(tx -> reports.commandAccepted(ref));
        // Whoever claims first (the loop or this "crashed" instance), the reaction is made once.
        outbox.claim("crashed-instance", 100, Duration.ofMillis(200));
        awaitOutboxDone("reaction:eyes:Codertocat/Hello-World:1901");
        assertThat(effective("POST", REPO + "/issues/comments/1901/reactions")).hasSize(1);
    }

    // --- catch-up after downtime --------------------------------------------------------------------------------

    static String hookDelivery(long id, String guid, Instant at, boolean redelivery, String status, int code) {
        return """
                {"id": %d, "guid": "%s", "delivered_at": "%s", "redelivery": %s, "duration": 0.27,
                 "status": "%s", "status_code": %d, "event": "issue_comment", "action": "created",
                 "installation_id": 1, "repository_id": 1296269}""".formatted(id, guid, at, redelivery, status, code);
    }

    @Test
    void catch_up_asks_github_to_redeliver_each_failed_delivery_that_is_not_stored_once() throws Exception {
        var stored = id();
        deliver("pull_request", stored, payload("pull_request.opened"));
        assertThat(outcome(stored)).isNotNull();
        var now = Instant.now();
        var lost = "c0ffee00-0000-11f0-8000-000000000001";
        var ok = "c0ffee00-0000-11f0-8000-000000000002";
        var twice = "c0ffee00-0000-11f0-8000-000000000003";
        var old = "c0ffee00-0000-11f0-8000-000000000004";
        github.stubFor(get(urlPathEqualTo("/app/hook/deliveries")).atPriority(1)
                .withQueryParam("cursor", com.github.tomakehurst.wiremock.client.WireMock.absent())
                .willReturn(okJson("[" + String.join(",",
                        hookDelivery(9105, lost, now.minusSeconds(60), false, "Invalid HTTP Response: 503", 503),
                        hookDelivery(9104, ok, now.minusSeconds(120), false, "OK", 200),
                        hookDelivery(9103, stored, now.minusSeconds(180), false, "Invalid HTTP Response: 502", 502)) + "]")
                        .withHeader("Link", "<" + github.baseUrl() + "/app/hook/deliveries?per_page=100&cursor=v1_9103>; rel=\"next\"")));
        github.stubFor(get(urlPathEqualTo("/app/hook/deliveries")).atPriority(1)
                .withQueryParam("cursor", com.github.tomakehurst.wiremock.client.WireMock.equalTo("v1_9103"))
                .willReturn(okJson("[" + String.join(",",
                        hookDelivery(9102, twice, now.minusSeconds(200), true, "timed out", 0),
                        hookDelivery(9101, twice, now.minusSeconds(240), false, "Invalid HTTP Response: 503", 503),
                        hookDelivery(9001, old, now.minus(Duration.ofDays(4)), false, "Invalid HTTP Response: 503", 503)) + "]")));
        github.stubFor(post(urlPathMatching("/app/hook/deliveries/\\d+/attempts")).atPriority(1)
                .willReturn(aResponse().withStatus(202).withHeader("Content-Type", "application/json").withBody("{}")));

        // Another instance holding the pass: this one does nothing.
        try (var conn = dataSource.getConnection(); var lock = conn.createStatement()) {
            lock.execute("SELECT pg_advisory_lock(" + DeliveryCatchUp.LOCK_KEY + ")");
            assertThat(catchUp.runOnce()).isZero();
            lock.execute("SELECT pg_advisory_unlock(" + DeliveryCatchUp.LOCK_KEY + ")");
        }
        assertThat(effective("POST", "/app/hook/deliveries/\\d+/attempts")).isEmpty();

        assertThat(catchUp.runOnce()).isEqualTo(2);
        assertThat(effective("POST", "/app/hook/deliveries/\\d+/attempts"))
                .extracting(e -> URI.create(e.getRequest().getUrl()).getPath())
                .containsExactlyInAnyOrder("/app/hook/deliveries/9105/attempts", "/app/hook/deliveries/9102/attempts");
        var listing = effective("GET", "/app/hook/deliveries").getFirst().getRequest();
        assertThat(listing.getHeader("Authorization")).startsWith("Bearer ey");
        assertThat(send("GET", "/metrics", ADMIN).text()).contains("bisectbot_github_deliveries_recovered_total");
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

    @Test
    void a_stored_delivery_can_be_reprocessed_by_an_admin() throws Exception {
        var delivery = id();
        deliver("pull_request", delivery, payload("pull_request.opened"));
        assertThat(outcome(delivery)).isEqualTo("processed");
        var reply = send("POST", "/admin/deliveries/" + delivery + "/reprocess", ADMIN);
        assertThat(reply.status()).isEqualTo(202);
        var jobId = reply.body().get("job_id").asLong();
        assertThat(jdbc().sql("SELECT dedup_key FROM jobs WHERE id = :id").param("id", jobId).query(String.class).single())
                .isEqualTo("github-delivery:" + delivery + ":reprocess:1");
        await().atMost(Duration.ofSeconds(20)).until(() -> queue.find(jobId).orElseThrow().status().name().equals("SUCCEEDED"));
        assertThat(send("POST", "/admin/deliveries/no-such-delivery/reprocess", ADMIN).status()).isEqualTo(404);
        assertThat(send("POST", "/admin/deliveries/" + delivery + "/reprocess", null).status()).isEqualTo(401);
    }

    @Test
    void metrics_count_api_calls_and_rate_limits() throws Exception {
        var payload = comment("/help", "OWNER", "Codertocat", 20, 2001);
        deliver("issue_comment", id(), payload);
        awaitOutboxDone("comment:help:" + commandKey(payload) + "%");
        var text = send("GET", "/metrics", ADMIN).text();
        assertThat(text).contains("bisectbot_github_api_calls_total{", "status=\"201\"", "bisectbot_github_rate_limit_remaining",
                "bisectbot_github_rate_limit_waits_total");
    }
}
