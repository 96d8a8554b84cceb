package io.bisectbot.github;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.queue.NewJob;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** Writes to GitHub through the outbox: reports edited in place, share links, dead letters, retries past 5xx, leases that run out, and the API metrics. */
class GithubWritesTest extends GithubAppFixture {
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
        var body = json.readTree(edits.getFirst().getRequest().getBodyAsString())
                .get("body")
                .asString();
        assertThat(body.length()).isLessThanOrEqualTo(65_536);
        assertThat(body)
                .startsWith("<!-- bisectbot:job:9999 -->")
                .contains("new report")
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
        await().atMost(Duration.ofSeconds(20))
                .until(() -> "DEAD"
                        .equals(jdbc().sql(
                                        "SELECT status FROM github_outbox WHERE idempotency_key = 'reaction:eyes:Codertocat/Hello-World:404404'")
                                .query(String.class)
                                .single()));
        var stats = send("GET", "/admin/outbox", ADMIN);
        assertThat(stats.status()).isEqualTo(200);
        assertThat(stats.body().get("dead").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(stats.body().has("oldest_pending_age_seconds")).isTrue();
        assertThat(send("GET", "/admin/outbox", null).status()).isEqualTo(401);
    }

    @Test
    void a_write_github_answers_with_5xx_is_retried_past_the_attempt_count_until_it_goes_through() {
        var path = REPO + "/issues/comments/503503/reactions";
        var down = github.stubFor(post(urlPathEqualTo(path))
                .atPriority(1)
                .willReturn(aResponse()
                        .withStatus(503)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{\"message\":\"Service Unavailable\"}")));
        reports.commandAccepted(new GithubRef(1, "Codertocat", "Hello-World", 21, 503503L, null));
        var key = "reaction:eyes:Codertocat/Hello-World:503503";
        // GITHUB_OUTBOX_MAX_ATTEMPTS is 5 here; within GITHUB_OUTBOX_RETRY_FOR (24 h) the row stays PENDING.
        await().atMost(Duration.ofSeconds(30))
                .until(() -> jdbc().sql("SELECT attempts FROM github_outbox WHERE idempotency_key = :key")
                                .param("key", key)
                                .query(Integer.class)
                                .single()
                        >= 7);
        assertThat(jdbc().sql("SELECT status FROM github_outbox WHERE idempotency_key = :key")
                        .param("key", key)
                        .query(String.class)
                        .single())
                .isEqualTo("PENDING");
        github.removeStub(down);
        github.stubFor(post(urlPathEqualTo(path))
                .atPriority(1)
                .willReturn(okJson("{\"id\": 9001, \"content\": \"eyes\"}").withStatus(201)));
        awaitOutboxDone(key);
        assertThat(effective("POST", path)).hasSize(1);
    }

    @Test
    void a_row_whose_lease_ran_out_and_was_taken_over_is_not_written_by_the_instance_that_waited() {
        var outbox = new Outbox(dataSource, json, java.time.Clock.systemUTC());
        var request = json.createObjectNode()
                .put("owner", "Codertocat")
                .put("repo", "Hello-World")
                .put("comment_id", 2301)
                .put("content", "eyes");
        jdbc().sql("""
                INSERT INTO github_outbox (idempotency_key, installation_id, action, request, next_attempt_at, created_at,
                                           attempts, lease_owner, lease_until)
                VALUES ('lease-test:taken', 1, 'reaction', CAST(:r AS jsonb), now() + interval '1 hour', now(), 1, 'slow', now() - interval '1 second'),
                       ('lease-test:kept', 1, 'reaction', CAST(:r AS jsonb), now() + interval '1 hour', now(), 1, 'slow', now() + interval '1 minute')""").param("r", json.writeValueAsString(request)).update();
        var rows = jdbc().sql(
                        "SELECT id, idempotency_key, created_at FROM github_outbox WHERE idempotency_key LIKE 'lease-test:%' ORDER BY id")
                .query((rs, n) -> new Outbox.Row(
                        rs.getLong(1),
                        rs.getString(2),
                        1,
                        Outbox.REACTION,
                        request,
                        null,
                        1,
                        "slow",
                        rs.getTimestamp(3).toInstant()))
                .list();
        // While "slow" worked through its batch, the first row's lease ran out and another instance claimed it.
        jdbc().sql(
                        "UPDATE github_outbox SET lease_owner = 'fast', attempts = 2, lease_until = now() + interval '1 minute' "
                                + "WHERE idempotency_key = 'lease-test:taken'")
                .update();
        assertThat(outbox.renew(rows.get(0), "slow", Duration.ofMinutes(2))).isFalse();
        assertThat(outbox.renew(rows.get(1), "slow", Duration.ofMinutes(2))).isTrue();
        assertThat(jdbc().sql(
                                "SELECT lease_until > now() + interval '90 seconds' FROM github_outbox WHERE idempotency_key = 'lease-test:kept'")
                        .query(Boolean.class)
                        .single())
                .isTrue();
    }

    @Test
    void an_expired_lease_of_a_crashed_instance_is_taken_over() {
        var outbox = new Outbox(dataSource, json, java.time.Clock.systemUTC());
        var ref = new GithubRef(1, "Codertocat", "Hello-World", 19, 1901L, null);
        new TransactionTemplate(new DataSourceTransactionManager(dataSource))
                .executeWithoutResult(tx -> reports.commandAccepted(ref));
        // Whoever claims first (the loop or this "crashed" instance), the reaction is made once.
        outbox.claim("crashed-instance", 100, Duration.ofMillis(200));
        awaitOutboxDone("reaction:eyes:Codertocat/Hello-World:1901");
        assertThat(effective("POST", REPO + "/issues/comments/1901/reactions")).hasSize(1);
    }

    @Test
    void metrics_count_api_calls_and_rate_limits() throws Exception {
        var payload = comment("/help", "OWNER", "Codertocat", 20, 2001);
        deliver("issue_comment", id(), payload);
        awaitOutboxDone("comment:help:" + commandKey(payload) + "%");
        var text = send("GET", "/metrics", ADMIN).text();
        assertThat(text)
                .contains(
                        "bisectbot_github_api_calls_total{",
                        "status=\"201\"",
                        "bisectbot_github_rate_limit_remaining",
                        "bisectbot_github_rate_limit_waits_total");
    }

    @Test
    void a_cancelled_job_completes_its_check_run_as_cancelled_and_posts_no_report() {
        var ref = new GithubRef(1, "Codertocat", "Hello-World", 89, null, HEAD);
        reports.jobStarted(9898, ref);
        reports.jobCancelled(9898, ref);
        awaitOutboxDone("%:job:9898");

        // The class's tests share one GitHub: only this job's writes count.
        assertThat(effective("POST", REPO + "/check-runs"))
                .filteredOn(e -> e.getRequest().getBodyAsString().contains("/job/9898/"))
                .hasSize(1);
        var completed = effective("PATCH", REPO + "/check-runs/4242").stream()
                .filter(e -> e.getRequest().getBodyAsString().contains("/job/9898/"))
                .toList();
        assertThat(completed).hasSize(1);
        var update = json.readTree(completed.getFirst().getRequest().getBodyAsString());
        assertThat(update.get("status").asString()).isEqualTo("completed");
        assertThat(update.get("conclusion").asString()).isEqualTo("cancelled");
        assertThat(update.get("output").get("summary").asString()).contains("Cancelled before it had an answer");
        assertThat(effective("POST", REPO + "/issues/89/comments")).isEmpty();
    }

    @Test
    void a_job_s_page_links_the_comment_and_check_run_it_wrote_and_says_what_was_not_delivered() throws Exception {
        github.stubFor(
                post(urlPathEqualTo(REPO + "/issues/88/comments"))
                        .atPriority(1)
                        .willReturn(
                                aResponse()
                                        .withStatus(201)
                                        .withHeader("Content-Type", "application/json")
                                        .withBody(
                                                "{\"id\": 8801, \"html_url\": \"https://github.com/Codertocat/Hello-World/issues/88#issuecomment-8801\"}")));
        var job = queue.enqueue(NewJob.of("noop", json.createObjectNode())
                        .withRunAt(Instant.now().plusSeconds(3600)))
                .job()
                .id();
        var ref = new GithubRef(1, "Codertocat", "Hello-World", 88, null, HEAD);
        new TransactionTemplate(new DataSourceTransactionManager(dataSource))
                .executeWithoutResult(
                        tx -> reports.jobFinished(job, ref, "the report", GithubReports.Conclusion.SUCCESS));
        awaitOutboxDone("%:job:" + job);

        var writes = send("GET", "/job/" + job, ADMIN).body().get("github_writes");
        assertThat(writes).hasSize(2);
        // The comment's address as GitHub answered it; the check run's built from the repository and its id.
        assertThat(writes.get(0).get("type").asString()).isEqualTo("comment");
        assertThat(writes.get(0).get("state").asString()).isEqualTo("delivered");
        assertThat(writes.get(0).get("url").asString())
                .isEqualTo("https://github.com/Codertocat/Hello-World/issues/88#issuecomment-8801");
        assertThat(writes.get(0).get("id").asLong()).isEqualTo(8801);
        assertThat(writes.get(1).get("type").asString()).isEqualTo("check_run");
        assertThat(writes.get(1).get("url").asString())
                .isEqualTo(github.baseUrl() + "/Codertocat/Hello-World/runs/4242");

        // A bot task's pull request is in its result; a comment GitHub refused for good has no link.
        var bot = jdbc().sql("""
                        INSERT INTO jobs (kind, status, result, finished_at)
                        VALUES ('noop', 'SUCCEEDED', '{"pull_request_url": "https://github.com/Codertocat/Hello-World/pull/12"}', now())
                        RETURNING id""").query(Long.class).single();
        jdbc().sql("""
                        INSERT INTO github_outbox (idempotency_key, installation_id, action, request, status, attempts, next_attempt_at,
                                                   last_error, created_at, done_at)
                        VALUES (:key, 1, 'comment', '{"owner": "Codertocat", "repo": "Hello-World", "issue_number": 12}', 'DEAD', 5,
                                now(), 'HTTP 403: Resource not accessible by integration', now(), now())""").param("key", "comment:job:" + bot).update();
        var botWrites = send("GET", "/job/" + bot, ADMIN).body().get("github_writes");
        assertThat(botWrites).hasSize(2);
        assertThat(botWrites.get(0).get("state").asString()).isEqualTo("failed");
        assertThat(botWrites.get(0).get("url").isNull()).isTrue();
        assertThat(botWrites.get(1).get("type").asString()).isEqualTo("pull_request");
        assertThat(botWrites.get(1).get("url").asString())
                .isEqualTo("https://github.com/Codertocat/Hello-World/pull/12");
        assertThat(botWrites.get(1).get("id").asLong()).isEqualTo(12);
        assertThat(GithubJobWrites.webUrl(URI.create("https://api.github.com"))).isEqualTo("https://github.com");
        assertThat(GithubJobWrites.webUrl(URI.create("https://ghe.example.com/api/v3")))
                .isEqualTo("https://ghe.example.com");
    }
}
