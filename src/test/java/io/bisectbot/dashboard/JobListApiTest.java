package io.bisectbot.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.JsonCalls;
import io.bisectbot.JsonCalls.Reply;
import io.bisectbot.TestDatabase;
import io.bisectbot.crypto.Column;
import io.bisectbot.crypto.Encryption;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * {@code GET /jobs} as scripts call it: keyset pages, filters, the search (by what a sealed payload keeps in the clear,
 * and by the error) and errors that say what is wrong.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class JobListApiTest {

    static final String VIEWER = "viewer-token-of-the-job-list-test";

    @LocalServerPort
    int port;

    @Autowired
    DataSource dataSource;

    @DynamicPropertySource
    static void settings(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.web.viewer-token", () -> VIEWER);
    }

    Reply get(String path) throws Exception {
        return JsonCalls.send(port, "GET", path, null, VIEWER);
    }

    long insert(String kind, String status, String payload, String error) {
        return JdbcClient.create(dataSource)
                .sql("""
                        INSERT INTO jobs (kind, status, payload, last_error, run_at)
                        VALUES (:kind, :status, CAST(:payload AS jsonb), :error, now() + interval '1 day') RETURNING id""")
                .param("kind", kind)
                .param("status", status)
                .param("payload", payload)
                .param("error", error)
                .query(Long.class)
                .single();
    }

    List<Long> ids(JsonNode page) {
        var ids = new ArrayList<Long>();
        page.get("jobs").forEach(j -> ids.add(j.get("id").asLong()));
        return ids;
    }

    static String q(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

    @Test
    void each_instance_shows_the_fields_the_dashboard_reads() throws Exception {
        await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> get("/workers").body().get("instances").size() > 0);
        var instance = get("/workers").body().get("instances").get(0);

        for (var field : List.of(
                "id",
                "state",
                "version",
                "max_concurrent_jobs",
                "running_jobs",
                "started_at",
                "heartbeat_at",
                "kinds",
                "unready_kinds",
                "docker")) {
            assertThat(instance.has(field)).as(field).isTrue();
        }
        assertThat(instance.has("worker")).isFalse();
        assertThat(instance.get("docker").asString()).isIn("ok", "unavailable");
    }

    @Test
    void pages_follow_each_other_by_keyset_newest_first_until_the_last_says_so() throws Exception {
        var kind = "noop";
        var made = new ArrayList<Long>();
        for (int i = 0; i < 5; i++) {
            made.add(insert(kind, "CANCELLED", "{}", "cancelled: paging-test"));
        }
        var first = get("/jobs?q=paging-test&limit=2").body();
        assertThat(ids(first)).containsExactly(made.get(4), made.get(3));
        var second = get("/jobs?q=paging-test&limit=2&after="
                        + first.get("next_after").asLong())
                .body();
        assertThat(ids(second)).containsExactly(made.get(2), made.get(1));
        var last = get("/jobs?q=paging-test&limit=2&after="
                        + second.get("next_after").asLong())
                .body();
        assertThat(ids(last)).containsExactly(made.get(0));
        assertThat(last.get("next_after").isNull()).isTrue();
    }

    @Test
    void the_search_finds_jobs_by_repository_pull_request_commit_and_error_text() throws Exception {
        var acme = insert(
                "bot",
                "FAILED",
                "{\"github\":{\"owner\":\"Acme\",\"repo\":\"app\",\"issue_number\":42,\"head_sha\":\"abc123def456\"}}",
                "lint failed: 3 problems");
        var other = insert(
                "bot", "FAILED", "{\"github\":{\"owner\":\"acme\",\"repo\":\"lib\",\"issue_number\":42}}", "timeout");
        var bisect = insert(
                "bisect", "SUCCEEDED", "{\"repo\":\"https://github.com/acme/app.git\",\"bad\":\"abc123def456\"}", null);

        assertThat(ids(get("/jobs?q=" + q("repo:acme/app")).body())).containsExactly(bisect, acme);
        assertThat(ids(get("/jobs?q=" + q("repo:acme/app pr:42")).body())).containsExactly(acme);
        assertThat(ids(get("/jobs?q=" + q("repo:https://github.com/Acme/app.git"))
                        .body()))
                .as("a URL is its owner/name")
                .containsExactly(bisect, acme);
        assertThat(ids(get("/jobs?q=" + q("repo:acme/ap")).body()))
                .as("the whole name, not a part of it")
                .isEmpty();
        assertThat(ids(get("/jobs?q=" + q("sha:ABC123")).body())).containsExactly(bisect, acme);
        assertThat(ids(get("/jobs?q=" + q("3 problems")).body())).containsExactly(acme);
        assertThat(ids(get("/jobs?status=failed&kind=bot&q=" + q("pr:42")).body()))
                .containsExactly(other, acme);
        assertThat(ids(get("/jobs?status=SUCCEEDED,CANCELLED&q=" + q("repo:acme/app"))
                        .body()))
                .containsExactly(bisect);
        var row = get("/jobs?q=" + q("repo:acme/app pr:42")).body().get("jobs").get(0);
        assertThat(row.get("repo").asString()).isEqualTo("Acme/app");
        assertThat(row.get("pull_request").asLong()).isEqualTo(42);
        assertThat(row.has("payload")).as("the list carries no payload").isFalse();
        assertThat(ids(get("/jobs?q=" + q("100%_sure")).body()))
                .as("LIKE wildcards are literal")
                .isEmpty();
    }

    @Test
    void sha_finds_the_start_of_a_head_a_pull_request_head_or_a_bad_end_and_free_text_reads_only_the_error()
            throws Exception {
        var bot = insert(
                "bot", "SUCCEEDED", "{\"task\":\"lint\",\"pull_request\":9,\"head_sha\":\"5eed0123aaaa\"}", null);
        var fromComment = insert("bisect", "FAILED", """
                {"bad":"HEAD","good":["v1.0"],"github":{"owner":"acme","repo":"app","issue_number":9,"head_sha":"5EED0123BBBB"}}""", "step timed out after 600 s in module quokka");
        var fromApi = insert("bisect", "SUCCEEDED", "{\"bad\":\"5eed0123cccc\",\"good\":[\"v1.0\"]}", null);
        insert("bisect", "SUCCEEDED", """
                {"bad":"main","good":["5eed0123dddd"],"command":"make test-5eed0123 wombat","note":"5eed0123eeee"}""", null);

        assertThat(ids(get("/jobs?q=" + q("sha:5eed0123")).body()))
                .as("not by a good end nor by any other text")
                .containsExactly(fromApi, fromComment, bot);
        assertThat(ids(get("/jobs?q=" + q("sha:5EED")).body())).containsExactly(fromApi, fromComment, bot);
        assertThat(ids(get("/jobs?q=" + q("sha:5eed0123c")).body())).containsExactly(fromApi);
        assertThat(ids(get("/jobs?q=" + q("sha:5eed0123 pr:9")).body())).containsExactly(fromComment);
        assertThat(ids(get("/jobs?q=" + q("sha:eed0123")).body()))
                .as("a prefix, not a part")
                .isEmpty();

        assertThat(ids(get("/jobs?q=" + q("Quokka")).body())).containsExactly(fromComment);
        assertThat(ids(get("/jobs?q=" + q("timed out quokka")).body()))
                .as("every word, anywhere in the error")
                .containsExactly(fromComment);
        assertThat(ids(get("/jobs?q=" + q("wombat")).body()))
                .as("free text does not read the payload")
                .isEmpty();
    }

    @Test
    void a_sealed_payload_is_found_by_the_pull_request_and_commits_it_keeps_in_the_clear() throws Exception {
        var sealed = Encryption.fromKeys(TestDatabase.ENCRYPTION_KEYS).sealJson(Column.JOB_PAYLOAD, """
                {"repo":"https://github.com/acme/vault.git","bad":"feedface0001","good":["v2.0"],
                 "command":"make test TOKEN=s3cret-platypus",
                 "github":{"installation_id":5,"owner":"acme","repo":"vault","issue_number":4711,"head_sha":"c0debabe0001"}}""");
        assertThat(sealed).contains("$sealed").doesNotContain("s3cret-platypus").doesNotContain("v2.0");
        var job = insert("bisect", "FAILED", sealed, "exit code 2: make test failed");

        assertThat(ids(get("/jobs?q=" + q("pr:4711")).body())).containsExactly(job);
        assertThat(ids(get("/jobs?q=" + q("pr:04711")).body()))
                .as("the number, however written")
                .containsExactly(job);
        assertThat(ids(get("/jobs?q=" + q("sha:feedface")).body()))
                .as("the bad end")
                .containsExactly(job);
        assertThat(ids(get("/jobs?q=" + q("sha:c0debabe")).body()))
                .as("the pull request head")
                .containsExactly(job);
        assertThat(ids(get("/jobs?q=" + q("repo:acme/vault pr:4711 sha:c0de")).body()))
                .containsExactly(job);
        assertThat(ids(get("/jobs?q=" + q("s3cret-platypus")).body()))
                .as("nothing sealed is searched")
                .isEmpty();
        var row = get("/jobs?q=" + q("pr:4711")).body().get("jobs").get(0);
        assertThat(row.get("repo").asString()).isEqualTo("acme/vault");
        assertThat(row.get("pull_request").asLong()).isEqualTo(4711);
    }

    @Test
    void the_list_filters_by_installation_and_by_a_time_range_of_creation() throws Exception {
        var jdbc = JdbcClient.create(dataSource);
        var old = insert("noop", "SUCCEEDED", "{}", "range-test");
        var middle = insert("noop", "SUCCEEDED", "{}", "range-test");
        var recent = insert("noop", "FAILED", "{}", "range-test");
        jdbc.sql("UPDATE jobs SET created_at = now() - interval '3 hours' WHERE id = :id")
                .param("id", old)
                .update();
        jdbc.sql("UPDATE jobs SET created_at = now() - interval '2 hours', tenant = 'installation:77' WHERE id = :id")
                .param("id", middle)
                .update();
        var from = java.time.Instant.now().minus(java.time.Duration.ofMinutes(150));
        var to = java.time.Instant.now().minus(java.time.Duration.ofMinutes(30));

        assertThat(ids(get("/jobs?q=range-test&installation=77").body())).containsExactly(middle);
        assertThat(ids(get("/jobs?q=range-test&from=" + from).body())).containsExactly(recent, middle);
        assertThat(ids(get("/jobs?q=range-test&to=" + to).body())).containsExactly(middle, old);
        assertThat(ids(get("/jobs?q=range-test&from=" + from + "&to=" + to).body()))
                .containsExactly(middle);
        assertThat(get("/jobs?from=yesterday").body().get("error").asString())
                .contains("'from'")
                .contains("ISO-8601");
        assertThat(get("/jobs?from=" + to + "&to=" + from).status()).isEqualTo(400);
        assertThat(get("/jobs?installation=0").status()).isEqualTo(400);
    }

    @Test
    void a_wrong_filter_is_a_400_that_names_the_value_and_what_would_be_right() throws Exception {
        var status = get("/jobs?status=DONE");
        assertThat(status.status()).isEqualTo(400);
        assertThat(status.body().get("error").asString()).contains("DONE").contains("PENDING");
        var limit = get("/jobs?limit=1000");
        assertThat(limit.status()).isEqualTo(400);
        assertThat(limit.body().get("error").asString())
                .contains("between 1 and 200")
                .contains("1000");
        assertThat(get("/jobs?q=" + q("pr:abc")).body().get("error").asString())
                .contains("pr:abc")
                .contains("pr:123");
        assertThat(get("/jobs?q=" + q("sha:xyz")).body().get("error").asString())
                .contains("sha:xyz")
                .contains("hex");
        assertThat(get("/jobs?after=0").status()).isEqualTo(400);
    }
}
