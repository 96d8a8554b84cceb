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
import io.bisectbot.TestDatabase;
import io.bisectbot.TestExecutor;
import io.bisectbot.bots.BotRequest;
import io.bisectbot.queue.JobStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Bot tasks and /bisect from real webhook payloads to a fake GitHub, with real containers on real repositories: what
 * GitHub finally receives is one check run and one comment per job.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class GithubBotsTest {

    static final String SECRET = "bots-secret";
    /** A granted bot secret: no form of it may ever reach a stored row or a request to GitHub from untrusted code. */
    static final String NPM_TOKEN = "npm_Zq8vR2xLk4Tw9YbN3mPc7HdJ";

    static final Path secretsFile = secretsFile();
    static final String REPO = "/repos/Codertocat/Hello-World";
    static final JsonMapper json = JsonMapper.builder().build();
    static final WireMockServer github = new WireMockServer(options().dynamicPort());
    static Path repo;
    static String head;

    @LocalServerPort
    int port;

    @Autowired
    DataSource dataSource;

    @Autowired
    GithubBots bots;

    private final HttpClient http = HttpClient.newHttpClient();

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.github.app-id", () -> "4242");
        registry.add("bisectbot.github.private-key", AppAuthTest::pkcs1Pem);
        registry.add("bisectbot.github.webhook-secrets", () -> SECRET);
        registry.add("bisectbot.github.api-url", github::baseUrl);
        registry.add("bisectbot.github.write-spacing", () -> "10ms");
        registry.add("bisectbot.github.outbox-poll-interval", () -> "100ms");
        registry.add("bisectbot.executor.default-image", () -> TestExecutor.RUNNER_IMAGE);
        registry.add("bisectbot.github.bisect-image", () -> TestExecutor.RUNNER_IMAGE);
        registry.add("bisectbot.bisect.allow-local-repos", () -> "true");
        registry.add("bisectbot.bots.secrets-file", secretsFile::toString);
    }

    static Path secretsFile() {
        try {
            var file = Files.createTempFile("bot-secrets", ".yml");
            Files.writeString(file, """
                    secrets:
                      NPM_TOKEN:
                        value: %s
                        repositories: [Codertocat/Hello-World, Codertocat/Forked, Codertocat/Members]
                    """.formatted(NPM_TOKEN));
            return file;
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeAll
    static void start() throws Exception {
        repo = Files.createTempDirectory("bots-repo");
        git("init", "-q", "-b", "main");
        Files.writeString(repo.resolve("README.md"), "hello   world\n");
        Files.writeString(repo.resolve("lint.sh"), "echo linting; ! grep -q '   ' README.md\n");
        git("add", "-A");
        git("commit", "-q", "-m", "base");
        head = git("rev-parse", "HEAD");
        github.start();
        stub();
    }

    @AfterAll
    static void stop() {
        github.stop();
    }

    static String git(String... args) throws Exception {
        return io.bisectbot.TestGit.run(repo, args);
    }

    static void stub() {
        github.stubFor(post(urlPathMatching("/app/installations/\\d+/access_tokens"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"token\":\"ghs_test\",\"expires_at\":\""
                                + Instant.now().plus(Duration.ofHours(1)) + "\"}")));
        github.stubFor(get(urlPathEqualTo(REPO + "/contents/.github/bisectbot.yml"))
                .willReturn(aResponse().withStatus(200).withBody("""
                tasks:
                  lint:
                    run: sh lint.sh
                    on: [pull_request]
                  fix-format:
                    run: sed -i 's/   / /' README.md
                    on: [command]
                    outputs: pull_request
                """)));
        github.stubFor(get(urlPathEqualTo("/repos/Codertocat/Broken/contents/.github/bisectbot.yml"))
                .willReturn(aResponse()
                        .withStatus(200)
                        .withBody("tasks:\n  lint:\n    run: make lint\n    timout: 1m\n    on: [pull_request]\n")));
        github.stubFor(get(urlPathMatching("/repos/.*/collaborators/Codertocat/permission"))
                .willReturn(okJson("{\"permission\":\"admin\",\"role_name\":\"admin\"}")));
        github.stubFor(get(urlPathMatching("/repos/.*/collaborators/reader/permission"))
                .willReturn(okJson("{\"permission\":\"read\",\"role_name\":\"read\"}")));
        github.stubFor(get(urlPathEqualTo(REPO + "/pulls/2")).willReturn(okJson("""
                {"number": 2, "state": "open", "updated_at": "2019-05-15T15:20:33Z",
                 "head": {"sha": "%s", "ref": "changes", "repo": {"id": 186853002}}, "base": {"ref": "master"}}""".formatted(head))));
        github.stubFor(get(urlPathEqualTo(REPO + "/pulls/3")).willReturn(okJson("""
                {"number": 3, "state": "closed", "updated_at": "2019-05-15T15:20:33Z", "head": {"sha": "%s"}}""".formatted(head))));
        github.stubFor(get(urlPathMatching("/repos/.*/issues/\\d+/comments")).willReturn(okJson("[]")));
        github.stubFor(post(urlPathMatching("/repos/.*/issues/\\d+/comments"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"id\":9000}")));
        github.stubFor(post(urlPathMatching("/repos/.*/reactions"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"id\":1}")));
        github.stubFor(post(urlPathMatching("/repos/.*/issues/comments/\\d+/reactions"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"id\":1}")));
        github.stubFor(get(urlPathMatching("/repos/.*/commits/.*/check-runs"))
                .willReturn(okJson("{\"total_count\":0,\"check_runs\":[]}")));
        github.stubFor(post(urlPathMatching("/repos/.*/check-runs"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"id\":4242}")));
        github.stubFor(patch(urlPathMatching("/repos/.*/check-runs/\\d+")).willReturn(okJson("{\"id\":4242}")));
        // Git Data API: the branch and its pull request do not exist until created, then they do.
        github.stubFor(get(urlPathEqualTo(REPO + "/git/commits/" + head))
                .willReturn(okJson("{\"tree\":{\"sha\":\"basetree\"}}")));
        github.stubFor(post(urlPathEqualTo(REPO + "/git/blobs"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"sha\":\"blob1\"}")));
        github.stubFor(post(urlPathEqualTo(REPO + "/git/trees"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"sha\":\"tree1\"}")));
        github.stubFor(post(urlPathEqualTo(REPO + "/git/commits"))
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"sha\":\"commit1\"}")));
        github.stubFor(get(urlPathMatching(REPO + "/git/ref/heads/.*"))
                .inScenario("branch")
                .whenScenarioStateIs(Scenario.STARTED)
                .willReturn(aResponse().withStatus(404).withBody("{\"message\":\"Not Found\"}")));
        github.stubFor(get(urlPathMatching(REPO + "/git/ref/heads/.*"))
                .inScenario("branch")
                .whenScenarioStateIs("created")
                .willReturn(okJson("{\"object\":{\"sha\":\"commit1\"}}")));
        github.stubFor(post(urlPathEqualTo(REPO + "/git/refs"))
                .inScenario("branch")
                .willSetStateTo("created")
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{}")));
        github.stubFor(patch(urlPathMatching(REPO + "/git/refs/heads/.*")).willReturn(okJson("{}")));
        github.stubFor(get(urlPathEqualTo(REPO + "/pulls"))
                .inScenario("pr")
                .whenScenarioStateIs(Scenario.STARTED)
                .willReturn(okJson("[]")));
        github.stubFor(get(urlPathEqualTo(REPO + "/pulls"))
                .inScenario("pr")
                .whenScenarioStateIs("opened")
                .willReturn(
                        okJson("[{\"number\":5,\"html_url\":\"https://github.com/Codertocat/Hello-World/pull/5\"}]")));
        github.stubFor(post(urlPathEqualTo(REPO + "/pulls"))
                .inScenario("pr")
                .willSetStateTo("opened")
                .willReturn(aResponse()
                        .withStatus(201)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"number\":5,\"html_url\":\"https://github.com/Codertocat/Hello-World/pull/5\"}")));
        github.stubFor(patch(urlPathMatching(REPO + "/pulls/\\d+")).willReturn(okJson("{}")));
    }

    private JdbcClient jdbc() {
        return JdbcClient.create(dataSource);
    }

    private int deliver(String event, JsonNode payload) throws Exception {
        var body = json.writeValueAsBytes(payload);
        var response = http.send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/webhooks/github"))
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                        .header("Content-Type", "application/json")
                        .header("X-GitHub-Event", event)
                        .header("X-GitHub-Delivery", UUID.randomUUID().toString())
                        .header("X-Hub-Signature-256", WebhookSignatures.sign(SECRET, body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode();
    }

    private ObjectNode pullRequestOpened() {
        var payload = GithubAppFixture.payload("pull_request.opened");
        ((ObjectNode) payload.get("repository")).put("clone_url", repo.toString());
        ((ObjectNode) payload.get("pull_request").get("head")).put("sha", head);
        return payload;
    }

    private List<Long> botJobs(String task) {
        return jdbc().sql("SELECT id FROM jobs WHERE kind = 'bot' AND payload ->> 'task' = :task ORDER BY id")
                .param("task", task)
                .query(Long.class)
                .list();
    }

    private void awaitFinished(long id) {
        await().atMost(Duration.ofSeconds(60))
                .until(() -> JobStatus.valueOf(jdbc().sql("SELECT status FROM jobs WHERE id = :id")
                                .param("id", id)
                                .query(String.class)
                                .single())
                        .isFinal());
    }

    private static long effective(String method, String pathRegex) {
        return github.getAllServeEvents().stream()
                .filter(e -> e.getRequest().getMethod().getName().equals(method))
                .filter(e -> URI.create(e.getRequest().getUrl()).getPath().matches(pathRegex))
                .filter(e -> e.getResponse().getStatus() / 100 == 2)
                .count();
    }

    @Test
    void an_opened_pull_request_runs_its_lint_task_once_and_completes_one_check_run_with_its_conclusion()
            throws Exception {
        assertThat(deliver("pull_request", pullRequestOpened())).isEqualTo(202);
        await().atMost(Duration.ofSeconds(20)).until(() -> botJobs("lint").size() == 1);
        var id = botJobs("lint").getFirst();
        awaitFinished(id);
        var result = json.readTree(jdbc().sql("SELECT result::text FROM jobs WHERE id = :id")
                .param("id", id)
                .query(String.class)
                .single());
        assertThat(result.get("conclusion").asString())
                .isEqualTo("failure"); // README.md has the triple space lint forbids

        await().atMost(Duration.ofSeconds(20))
                .until(() -> github.getAllServeEvents().stream()
                        .anyMatch(e -> e.getRequest().getMethod().getName().equals("PATCH")
                                && e.getRequest().getBodyAsString().contains("bisectbot/lint")));
        assertThat(github.getAllServeEvents().stream()
                        .filter(e -> e.getRequest().getMethod().getName().equals("POST")
                                && e.getRequest().getUrl().endsWith("/check-runs"))
                        .filter(e -> json.readTree(e.getRequest().getBodyAsString())
                                .path("name")
                                .asString()
                                .equals("bisectbot/lint")))
                .as("check runs created for the lint task")
                .hasSize(1);
        var body = github.getAllServeEvents().stream()
                .filter(e -> e.getRequest().getMethod().getName().equals("PATCH")
                        && e.getRequest().getUrl().contains("/check-runs/"))
                .map(e -> json.readTree(e.getRequest().getBodyAsString()))
                .filter(b -> b.path("name").asString().equals("bisectbot/lint"))
                .findFirst()
                .orElseThrow();
        assertThat(body.get("conclusion").asString()).isEqualTo("failure");
        assertThat(body.get("name").asString()).isEqualTo("bisectbot/lint");
        // queued when the job was created, in progress when it started, then completed: in that order.
        var states = github.getAllServeEvents().reversed().stream()
                .filter(e -> e.getRequest().getUrl().contains("/check-runs")
                        && !e.getRequest().getMethod().getName().equals("GET"))
                .map(e -> json.readTree(e.getRequest().getBodyAsString()))
                .filter(b -> b.path("name").asString().equals("bisectbot/lint"))
                .map(b -> b.path("status").asString())
                .toList();
        assertThat(states).containsExactly("queued", "in_progress", "completed");
        assertThat(body.get("output").get("summary").asString()).contains("linting");
    }

    @Test
    void a_task_that_changes_files_opens_one_pull_request_and_a_rerun_updates_it() throws Exception {
        var request = new BotRequest(
                "fix-format",
                json.readTree(
                        "{\"run\":\"sed -i 's/   / /' README.md\",\"on\":[\"command\"],\"outputs\":\"pull_request\"}"),
                repo.toString(),
                "Codertocat",
                "Hello-World",
                1,
                2,
                head,
                "changes",
                "command",
                null,
                null,
                io.bisectbot.bots.Trust.trusted("test"));
        var first = bots.proposeChanges(
                1,
                request,
                "bisectbot/fix-format/" + head.substring(0, 7),
                "t",
                "b",
                List.of(new io.bisectbot.bots.BotGithub.ChangedFile(
                        "README.md", "100644", "hello world\n".getBytes(StandardCharsets.UTF_8))));
        var second = bots.proposeChanges(
                2,
                request,
                "bisectbot/fix-format/" + head.substring(0, 7),
                "t",
                "b",
                List.of(new io.bisectbot.bots.BotGithub.ChangedFile(
                        "README.md", "100644", "hello world\n".getBytes(StandardCharsets.UTF_8))));

        assertThat(first).isEqualTo(second).endsWith("/pull/5");
        assertThat(effective("POST", REPO + "/pulls"))
                .as("pull requests opened")
                .isEqualTo(1);
        assertThat(effective("POST", REPO + "/git/refs")).as("branches created").isEqualTo(1);
        assertThat(effective("PATCH", REPO + "/git/refs/heads/bisectbot/fix-format/.*"))
                .as("branch moved on rerun")
                .isEqualTo(1);
        var pr = github.getAllServeEvents().stream()
                .filter(e -> e.getRequest().getMethod().getName().equals("POST")
                        && e.getRequest().getUrl().endsWith("/pulls"))
                .findFirst()
                .orElseThrow();
        assertThat(json.readTree(pr.getRequest().getBodyAsString()).get("base").asString())
                .isEqualTo("changes");
    }

    @Test
    void a_bisect_comment_runs_the_engine_and_github_gets_one_report_comment_and_one_completed_check_run()
            throws Exception {
        var history = Files.createTempDirectory("bisect-repo");
        var shas = new ArrayList<String>();
        for (int i = 0; i < 8; i++) {
            Files.writeString(history.resolve("state"), i < 5 ? "good\n" : "bad\n");
            Files.writeString(history.resolve("test.sh"), "[ \"$(cat state)\" = good ]\n");
            Files.writeString(history.resolve("version"), i + "\n");
            if (i == 0) {
                io.bisectbot.TestGit.run(history, "init", "-q", "-b", "main");
            }
            io.bisectbot.TestGit.run(history, "add", "-A");
            io.bisectbot.TestGit.run(history, "commit", "-q", "-m", "change " + i);
            shas.add(io.bisectbot.TestGit.run(history, "rev-parse", "HEAD"));
        }
        var payload = GithubAppFixture.comment(
                "Found a regression.\n/bisect good=" + shas.getFirst() + " bad=main -- sh test.sh",
                "OWNER",
                "Codertocat",
                2,
                2002);
        ((ObjectNode) payload.get("repository")).put("clone_url", history.toString());
        // On a pull request: the check run goes on its head commit.
        ((ObjectNode) payload.get("issue")).putObject("pull_request").put("url", github.baseUrl() + REPO + "/pulls/2");
        assertThat(deliver("issue_comment", payload)).isEqualTo(202);

        await().atMost(Duration.ofSeconds(20))
                .until(() -> jdbc().sql("SELECT count(*) FROM jobs WHERE kind = 'bisect'")
                                .query(Long.class)
                                .single()
                        == 1);
        var id = jdbc().sql("SELECT id FROM jobs WHERE kind = 'bisect'")
                .query(Long.class)
                .single();
        awaitFinished(id);
        var result = json.readTree(jdbc().sql("SELECT result::text FROM jobs WHERE id = :id")
                .param("id", id)
                .query(String.class)
                .single());
        assertThat(result.get("outcome").get("commit").get("sha").asString()).isEqualTo(shas.get(5));

        await().atMost(Duration.ofSeconds(30))
                .until(() -> effective("PATCH", REPO + "/check-runs/\\d+") >= 1
                        && github.getAllServeEvents().stream()
                                .anyMatch(e ->
                                        e.getRequest().getMethod().getName().equals("POST")
                                                && e.getRequest().getUrl().endsWith("/issues/2/comments")
                                                && e.getRequest()
                                                        .getBodyAsString()
                                                        .contains("First bad commit")));
        var reports = github.getAllServeEvents().stream()
                .filter(e -> e.getRequest().getMethod().getName().equals("POST")
                        && e.getRequest().getUrl().endsWith("/issues/2/comments"))
                .filter(e -> e.getRequest().getBodyAsString().contains("bisectbot:job:" + id))
                .toList();
        assertThat(reports).hasSize(1);
        assertThat(reports.getFirst().getRequest().getBodyAsString())
                .contains(shas.get(5).substring(0, 12));
        var completed = github.getAllServeEvents().stream()
                .filter(e -> e.getRequest().getMethod().getName().equals("PATCH")
                        && e.getRequest().getUrl().contains("/check-runs/"))
                .map(e -> json.readTree(e.getRequest().getBodyAsString()))
                .filter(b -> b.path("name").asString().equals("bisectbot"))
                .toList();
        assertThat(completed).hasSize(1);
        assertThat(completed.getFirst().get("conclusion").asString()).isEqualTo("success");
    }

    @Test
    void an_invalid_task_config_gets_one_error_comment_and_no_job() throws Exception {
        var payload = pullRequestOpened();
        ((ObjectNode) payload.get("repository")).put("name", "Broken");
        assertThat(deliver("pull_request", payload)).isEqualTo(202);
        assertThat(deliver("pull_request", payload))
                .as("a redelivery under another id")
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> effective("POST", "/repos/Codertocat/Broken/issues/2/comments") >= 1);
        var errors = github.getAllServeEvents().stream()
                .filter(e -> e.getRequest().getMethod().getName().equals("POST")
                        && e.getRequest().getUrl().equals("/repos/Codertocat/Broken/issues/2/comments"))
                .map(e -> e.getRequest().getBodyAsString())
                .toList();
        assertThat(errors.getFirst()).contains("**Error**").contains("tasks.lint.timout");
        assertThat(jdbc().sql("SELECT count(*) FROM jobs WHERE kind = 'bot' AND payload ->> 'repo' = 'Broken'")
                        .query(Long.class)
                        .single())
                .isZero();
    }

    @Test
    void closing_an_already_closed_pull_request_does_nothing() {
        var request = new BotRequest(
                "stale-close",
                json.readTree("{\"action\":\"close_pull_request\",\"on\":[\"schedule:PT72H\"]}"),
                repo.toString(),
                "Codertocat",
                "Hello-World",
                1,
                3,
                head,
                "master",
                "schedule",
                null,
                null,
                io.bisectbot.bots.Trust.trusted("test"));
        bots.closePullRequest(7, request, "Closing: stale.");
        assertThat(effective("PATCH", REPO + "/pulls/3")).isZero();
    }

    // --- the trust boundary -----------------------------------------------------------------------------------

    private List<String> stored(String sql) {
        return jdbc().sql(sql).query(String.class).list();
    }

    /** Every form of the secret that a step could print, and that masking removes. */
    private static List<String> secretForms() {
        var bytes = NPM_TOKEN.getBytes(StandardCharsets.UTF_8);
        return List.of(
                NPM_TOKEN,
                java.util.Base64.getEncoder().encodeToString(bytes).substring(0, 36),
                java.util.HexFormat.of().formatHex(bytes),
                new StringBuilder(NPM_TOKEN).reverse().toString());
    }

    private void assertNoSecretAnywhere() {
        var rows = new ArrayList<String>();
        rows.addAll(stored("SELECT content FROM step_logs"));
        rows.addAll(stored("SELECT payload::text || coalesce(result::text, '') || coalesce(last_error, '') FROM jobs"));
        rows.addAll(stored("SELECT coalesce(detail, '') FROM job_events"));
        rows.addAll(stored("SELECT request::text FROM github_outbox"));
        github.getAllServeEvents()
                .forEach(e ->
                        rows.add(e.getRequest().getUrl() + " " + e.getRequest().getBodyAsString()));
        for (var form : secretForms()) {
            assertThat(rows)
                    .as("no stored row or GitHub request holds %s", form)
                    .noneMatch(row -> row.contains(form));
        }
    }

    private String log(long jobId) {
        return String.join(
                "",
                jdbc().sql("SELECT content FROM step_logs WHERE job_id = :id ORDER BY seq")
                        .param("id", jobId)
                        .query(String.class)
                        .list());
    }

    private JsonNode jobRow(long id, String column) {
        return json.readTree(jdbc().sql("SELECT " + column + "::text FROM jobs WHERE id = :id")
                .param("id", id)
                .query(String.class)
                .single());
    }

    @Test
    void a_fork_pull_request_runs_the_base_config_without_secrets_or_network_and_its_config_change_is_only_reported()
            throws Exception {
        var forked = "/repos/Codertocat/Forked";
        // The base branch asks for a secret and the bridge network; the fork's head asks for more and a pull request
        // output.
        github.stubFor(get(urlPathEqualTo(forked + "/contents/.github/bisectbot.yml"))
                .willReturn(aResponse().withStatus(200).withBody("""
                tasks:
                  leak:
                    run: 'echo "tok=$NPM_TOKEN"; printf %s "$NPM_TOKEN" | base64; echo "net=$(ls /sys/class/net | tr "\\n" ,)"'
                    on: [pull_request]
                    network: bridge
                    secrets: [NPM_TOKEN]
                """)));
        github.stubFor(get(urlPathEqualTo(forked + "/contents/.github/bisectbot.yml"))
                .atPriority(1)
                .withQueryParam("ref", com.github.tomakehurst.wiremock.client.WireMock.equalTo(head))
                .willReturn(aResponse().withStatus(200).withBody("""
                        tasks:
                          leak:
                            run: 'echo $NPM_TOKEN | base64 | rev; env'
                            on: [pull_request]
                            network: bridge
                            secrets: [NPM_TOKEN]
                            outputs: pull_request
                        """)));
        var payload = pullRequestOpened();
        ((ObjectNode) payload.get("repository")).put("name", "Forked").put("full_name", "Codertocat/Forked");
        ((ObjectNode) payload.get("pull_request")).put("number", 40);
        ((ObjectNode) payload.get("pull_request").get("head"))
                .putObject("repo")
                .put("id", 4040)
                .put("full_name", "mallory/Forked");
        assertThat(deliver("pull_request", payload)).isEqualTo(202);

        await().atMost(Duration.ofSeconds(20)).until(() -> botJobs("leak").size() == 1);
        var id = botJobs("leak").getFirst();
        awaitFinished(id);
        var job = jobRow(id, "payload");
        assertThat(job.get("trusted").asBoolean()).isFalse();
        assertThat(job.get("trust_reason").asString()).contains("fork mallory/Forked");
        assertThat(job.get("task_config").get("run").asString())
                .as("the base branch's task")
                .startsWith("echo \"tok=");
        var result = jobRow(id, "result");
        assertThat(result.get("conclusion").asString()).isEqualTo("success");
        assertThat(log(id)).contains("tok=\n").contains("net=lo,");

        // The check run is created, then updated: wait for the update that completes it, not for any update.
        java.util.function.Supplier<List<JsonNode>> checkWrites = () -> github.getAllServeEvents().stream()
                .filter(e -> e.getRequest().getUrl().startsWith(forked + "/check-runs")
                        && !e.getRequest().getMethod().getName().equals("GET"))
                .map(e -> json.readTree(e.getRequest().getBodyAsString()))
                .toList();
        java.util.function.Predicate<JsonNode> leakCompleted =
                c -> c.path("name").asString().equals("bisectbot/leak")
                        && c.path("status").asString().equals("completed");
        await().atMost(Duration.ofSeconds(20))
                .until(() -> checkWrites.get().stream().anyMatch(leakCompleted)
                        && checkWrites.get().stream()
                                .anyMatch(c -> c.path("name").asString().equals("bisectbot/config")));
        var checks = checkWrites.get();
        var config = checks.stream()
                .filter(c -> c.path("name").asString().equals("bisectbot/config"))
                .findFirst()
                .orElseThrow();
        assertThat(config.get("output").get("summary").asString())
                .contains("task `leak` changes", "base branch's config");
        var completed = checks.stream().filter(leakCompleted).findFirst().orElseThrow();
        assertThat(completed.get("output").get("summary").asString())
                .contains("untrusted code", "/bot approve")
                .doesNotContain("tok=");
        assertThat(effective("POST", forked + "/pulls")).isZero();
        assertNoSecretAnywhere();
    }

    @Test
    void a_read_only_members_head_is_untrusted_until_a_writer_approves_that_exact_commit() throws Exception {
        var members = "/repos/Codertocat/Members";
        github.stubFor(get(urlPathEqualTo(members + "/contents/.github/bisectbot.yml"))
                .willReturn(aResponse().withStatus(200).withBody("""
                tasks:
                  check-ro:
                    run: 'echo "tok=${NPM_TOKEN:-none}"; printf %s "$NPM_TOKEN" | base64'
                    on: [pull_request]
                    secrets: [NPM_TOKEN]
                """)));
        github.stubFor(get(urlPathEqualTo(members + "/pulls/50")).willReturn(okJson("""
                {"number": 50, "state": "open", "updated_at": "2019-05-15T15:20:33Z", "user": {"login": "reader", "type": "User"},
                 "head": {"sha": "%s", "ref": "try", "repo": {"id": 186853002}}, "base": {"ref": "master"}}""".formatted(head))));
        var opened = pullRequestOpened();
        ((ObjectNode) opened.get("repository")).put("name", "Members").put("full_name", "Codertocat/Members");
        ((ObjectNode) opened.get("pull_request")).put("number", 50);
        ((ObjectNode) opened.get("pull_request").get("user")).put("login", "reader");
        assertThat(deliver("pull_request", opened)).isEqualTo(202);
        await().atMost(Duration.ofSeconds(20)).until(() -> botJobs("check-ro").size() == 1);
        var untrusted = botJobs("check-ro").getFirst();
        awaitFinished(untrusted);
        assertThat(jobRow(untrusted, "payload").get("trust_reason").asString()).contains("@reader has no write access");
        assertThat(log(untrusted)).contains("tok=none");

        // A writer approves the head A: its tasks run again, with their secrets.
        var comment = GithubAppFixture.comment("/bot approve " + head.substring(0, 7), "OWNER", "Codertocat", 50, 5001);
        ((ObjectNode) comment.get("repository"))
                .put("name", "Members")
                .put("full_name", "Codertocat/Members")
                .put("clone_url", repo.toString());
        ((ObjectNode) comment.get("issue"))
                .putObject("pull_request")
                .put("url", "https://api.github.com" + members + "/pulls/50");
        assertThat(deliver("issue_comment", comment)).isEqualTo(202);
        await().atMost(Duration.ofSeconds(20)).until(() -> botJobs("check-ro").size() == 2);
        var approved = botJobs("check-ro").get(1);
        awaitFinished(approved);
        var approvedJob = jobRow(approved, "payload");
        assertThat(approvedJob.get("trusted").asBoolean()).isTrue();
        assertThat(approvedJob.get("approved_by").asString()).isEqualTo("Codertocat");
        assertThat(approvedJob.get("head_sha").asString()).isEqualTo(head);
        assertThat(log(approved)).contains("tok=***").doesNotContain("tok=none");
        assertThat(jdbc().sql("SELECT approved_by FROM head_approvals WHERE pull_request = 50 AND head_sha = :sha")
                        .param("sha", head)
                        .query(String.class)
                        .single())
                .isEqualTo("Codertocat");

        // A push of B voids it: B runs untrusted again.
        Files.writeString(repo.resolve("members.txt"), "more\n");
        git("add", "-A");
        git("commit", "-q", "-m", "push B");
        var b = git("rev-parse", "HEAD");
        var pushed = GithubAppFixture.payload("pull_request.synchronize");
        ((ObjectNode) pushed.get("repository"))
                .put("name", "Members")
                .put("full_name", "Codertocat/Members")
                .put("clone_url", repo.toString());
        ((ObjectNode) pushed.get("pull_request")).put("number", 50).put("updated_at", "2019-05-15T16:00:00Z");
        ((ObjectNode) pushed.get("pull_request").get("user")).put("login", "reader");
        ((ObjectNode) pushed.get("pull_request").get("head")).put("sha", b);
        ((ObjectNode) pushed.get("sender")).put("login", "reader");
        assertThat(deliver("pull_request", pushed)).isEqualTo(202);
        await().atMost(Duration.ofSeconds(20)).until(() -> botJobs("check-ro").size() == 3);
        var afterPush = botJobs("check-ro").get(2);
        var pushedJob = jobRow(afterPush, "payload");
        assertThat(pushedJob.get("head_sha").asString()).isEqualTo(b);
        assertThat(pushedJob.get("trusted").asBoolean()).isFalse();
        awaitFinished(afterPush);
        assertNoSecretAnywhere();
    }

    @Test
    void a_config_asking_for_an_image_not_allowed_or_a_secret_not_granted_gets_one_error_and_no_job() throws Exception {
        github.stubFor(get(urlPathEqualTo("/repos/Codertocat/Other/contents/.github/bisectbot.yml"))
                .willReturn(aResponse().withStatus(200).withBody("""
                        tasks:
                          publish:
                            image: evil/miner:latest
                            run: npm publish
                            on: [pull_request]
                            secrets: [NPM_TOKEN]
                        """)));
        var payload = pullRequestOpened();
        ((ObjectNode) payload.get("repository")).put("name", "Other").put("full_name", "Codertocat/Other");
        var configErrors = "SELECT count(*) FROM jobs WHERE kind = 'github-delivery' AND status = 'SUCCEEDED'"
                + " AND result ->> 'outcome' = 'config error'";
        var before = jdbc().sql(configErrors).query(Long.class).single();
        assertThat(deliver("pull_request", payload)).isEqualTo(202);
        assertThat(deliver("pull_request", payload))
                .as("a replay under another delivery id")
                .isEqualTo(202);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> jdbc().sql(configErrors).query(Long.class).single() == before + 2);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> jdbc().sql("SELECT count(*) FROM github_outbox WHERE status = 'PENDING'"
                                        + " AND idempotency_key LIKE 'comment:config:Codertocat/Other%'")
                                .query(Long.class)
                                .single()
                        == 0);
        var errors = github.getAllServeEvents().stream()
                .filter(e -> e.getRequest().getMethod().getName().equals("POST")
                        && e.getRequest().getUrl().equals("/repos/Codertocat/Other/issues/2/comments"))
                .map(e -> json.readTree(e.getRequest().getBodyAsString())
                        .get("body")
                        .asString())
                .toList();
        assertThat(errors)
                .singleElement()
                .asString()
                .contains("`evil/miner:latest` is not allowed", "ALLOWED_IMAGES")
                .contains("secret NPM_TOKEN, which is not granted to Codertocat/Other");
        assertThat(botJobs("publish")).isEmpty();
    }
}
