package io.bisectbot.github;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.node.ObjectNode;

/** Webhook deliveries end to end: what is accepted and stored (once), installations and pull requests recorded, processing retried while GitHub fails, catch-up of deliveries GitHub failed to send, reprocessing. */
class GithubDeliveriesTest extends GithubAppFixture {
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
                        .param("a", ping)
                        .param("b", star)
                        .query(Long.class)
                        .single())
                .isZero();
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
        assertThat(deliver("installation", next.call(), body, WebhookSignatures.sign("wrong", body))
                        .status())
                .isEqualTo(401);
        assertThat(deliver("installation", next.call(), body, "sha256=nothex").status())
                .isEqualTo(401);
        var truncated = Arrays.copyOf(body, body.length / 2);
        assertThat(deliver("installation", next.call(), truncated, good).status())
                .isEqualTo(401);
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
        assertThat(deliver("installation", rotated, body, WebhookSignatures.sign("old-secret", body))
                        .status())
                .isEqualTo(202);
        ids.remove(rotated);
        for (var id : ids) {
            assertThat(jdbc().sql("SELECT count(*) FROM github_deliveries WHERE delivery_id = :id")
                            .param("id", id)
                            .query(Long.class)
                            .single())
                    .isZero();
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
        assertThat(results)
                .containsOnlyOnce("202 queued")
                .filteredOn(r -> !r.equals("202 queued"))
                .hasSize(7)
                .allMatch(r -> r.equals("200 duplicate"));
        assertThat(jobsWithKey("github-delivery:" + delivery)).isEqualTo(1);
        var again = deliver("pull_request", delivery, payload);
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.body().get("result").asString()).isEqualTo("duplicate");
        assertThat(jdbc().sql("SELECT count(*) FROM jobs WHERE payload ->> 'delivery_id' = :id")
                        .param("id", delivery)
                        .query(Long.class)
                        .single())
                .isEqualTo(1);
    }

    @Test
    void stored_deliveries_keep_headers_without_the_signature() throws Exception {
        var delivery = id();
        assertThat(deliver("pull_request", delivery, payload("pull_request.synchronize"))
                        .status())
                .isEqualTo(202);
        var headers = json.readTree(jdbc().sql("SELECT headers::text FROM github_deliveries WHERE delivery_id = :id")
                .param("id", delivery)
                .query(String.class)
                .single());
        assertThat(headers.get("x-github-event").asString()).isEqualTo("pull_request");
        assertThat(headers.get("x-github-delivery").asString()).isEqualTo(delivery);
        assertThat(headers.propertyNames()).noneMatch(h -> h.contains("signature"));
    }

    @Test
    void installation_events_maintain_installations_and_repositories() throws Exception {
        var created = id();
        deliver("installation", created, payload("installation.created"));
        assertThat(outcome(created)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT account_login FROM installations WHERE id = 957387")
                        .query(String.class)
                        .single())
                .isEqualTo("Codertocat");
        assertThat(jdbc().sql("SELECT full_name FROM repositories WHERE installation_id = 957387 ORDER BY id")
                        .query(String.class)
                        .list())
                .contains("Codertocat/Hello-World");

        var added = id();
        deliver("installation_repositories", added, payload("installation_repositories.added"));
        assertThat(outcome(added)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT installation_id FROM repositories WHERE id = 186853007")
                        .query(Long.class)
                        .single())
                .isEqualTo(957387L);

        var suspend = payload("installation.created");
        suspend.put("action", "suspend");
        var suspended = id();
        deliver("installation", suspended, suspend);
        assertThat(outcome(suspended)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT suspended_at IS NOT NULL FROM installations WHERE id = 957387")
                        .query(Boolean.class)
                        .single())
                .isTrue();
        suspend.put("action", "unsuspend");
        var unsuspended = id();
        deliver("installation", unsuspended, suspend);
        assertThat(outcome(unsuspended)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT suspended_at IS NULL FROM installations WHERE id = 957387")
                        .query(Boolean.class)
                        .single())
                .isTrue();

        var remove = payload("installation_repositories.added");
        remove.put("action", "removed");
        remove.set("repositories_removed", remove.get("repositories_added"));
        remove.putArray("repositories_added");
        var removed = id();
        deliver("installation_repositories", removed, remove);
        assertThat(outcome(removed)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT count(*) FROM repositories WHERE id = 186853007")
                        .query(Long.class)
                        .single())
                .isZero();

        suspend.put("action", "deleted");
        var deleted = id();
        deliver("installation", deleted, suspend);
        assertThat(outcome(deleted)).isEqualTo("processed");
        assertThat(jdbc().sql("SELECT count(*) FROM installations WHERE id = 957387")
                        .query(Long.class)
                        .single())
                .isZero();
        assertThat(jdbc().sql("SELECT count(*) FROM repositories WHERE installation_id = 957387")
                        .query(Long.class)
                        .single())
                .isZero();
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
                        .query(String.class)
                        .single())
                .isEqualTo("feedface");
    }

    @Test
    void a_delivery_is_retried_while_github_answers_5xx_within_the_retry_window_and_given_up_after_it()
            throws Exception {
        github.stubFor(get(urlPathEqualTo("/repos/Codertocat/Down/contents/.github/bisectbot.yml"))
                .atPriority(1)
                .willReturn(aResponse().withStatus(502).withBody("{\"message\":\"Server Error\"}")));
        var delivery = id();
        var payload = comment("/bisect good=a bad=b", "OWNER", "Codertocat", 22, 2201);
        ((ObjectNode) payload.get("repository"))
                .put("name", "Down")
                .put("clone_url", "https://github.com/Codertocat/Down.git");
        deliver("issue_comment", delivery, payload);
        var key = "github-delivery:" + delivery;
        await().atMost(Duration.ofSeconds(30))
                .until(() -> jdbc().sql(
                                        "SELECT count(*) FROM job_events e JOIN jobs j ON j.id = e.job_id WHERE j.dedup_key = :key AND e.type = 'retry_scheduled'")
                                .param("key", key)
                                .query(Long.class)
                                .single()
                        >= 1);
        assertThat(jdbc().sql("SELECT max_attempts FROM jobs WHERE dedup_key = :key")
                        .param("key", key)
                        .query(Integer.class)
                        .single())
                .as("attempts are not the limit; the window is")
                .isGreaterThanOrEqualTo(1000);
        // A day later (GITHUB_DELIVERY_RETRY_FOR is 24 h), GitHub still down: the next attempt gives up.
        jdbc().sql(
                        "UPDATE jobs SET created_at = now() - interval '25 hours', run_at = now() WHERE dedup_key = :key AND status = 'PENDING'")
                .param("key", key)
                .update();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> "FAILED"
                        .equals(jdbc().sql("SELECT status FROM jobs WHERE dedup_key = :key")
                                .param("key", key)
                                .query(String.class)
                                .single()));
        assertThat(jdbc().sql("SELECT last_error FROM jobs WHERE dedup_key = :key")
                        .param("key", key)
                        .query(String.class)
                        .single())
                .contains("giving up");
        // The command gets one reply saying so, queued in the outbox (which keeps trying while GitHub is down).
        var reply = jdbc().sql("SELECT request ->> 'body' FROM github_outbox WHERE idempotency_key = :k")
                .param("k", "comment:given-up:" + commandKey(payload))
                .query(String.class)
                .list();
        assertThat(reply).hasSize(1);
        assertThat(reply.getFirst())
                .startsWith("**Error**: this command could not be processed")
                .contains("502")
                .contains("Post it again");
        assertThat(jdbc().sql("SELECT count(*) FROM github_outbox WHERE idempotency_key LIKE 'comment:given-up:%'")
                        .query(Long.class)
                        .single())
                .isEqualTo(1);
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
        github.stubFor(get(urlPathEqualTo("/app/hook/deliveries"))
                .atPriority(1)
                .withQueryParam("cursor", com.github.tomakehurst.wiremock.client.WireMock.absent())
                .willReturn(okJson("["
                                + String.join(
                                        ",",
                                        hookDelivery(
                                                9105,
                                                lost,
                                                now.minusSeconds(60),
                                                false,
                                                "Invalid HTTP Response: 503",
                                                503),
                                        hookDelivery(9104, ok, now.minusSeconds(120), false, "OK", 200),
                                        hookDelivery(
                                                9103,
                                                stored,
                                                now.minusSeconds(180),
                                                false,
                                                "Invalid HTTP Response: 502",
                                                502))
                                + "]")
                        .withHeader(
                                "Link",
                                "<" + github.baseUrl()
                                        + "/app/hook/deliveries?per_page=100&cursor=v1_9103>; rel=\"next\"")));
        github.stubFor(get(urlPathEqualTo("/app/hook/deliveries"))
                .atPriority(1)
                .withQueryParam("cursor", com.github.tomakehurst.wiremock.client.WireMock.equalTo("v1_9103"))
                .willReturn(okJson("["
                        + String.join(
                                ",",
                                hookDelivery(9102, twice, now.minusSeconds(200), true, "timed out", 0),
                                hookDelivery(
                                        9101, twice, now.minusSeconds(240), false, "Invalid HTTP Response: 503", 503),
                                hookDelivery(
                                        9001,
                                        old,
                                        now.minus(Duration.ofDays(4)),
                                        false,
                                        "Invalid HTTP Response: 503",
                                        503))
                        + "]")));
        github.stubFor(post(urlPathMatching("/app/hook/deliveries/\\d+/attempts"))
                .atPriority(1)
                .willReturn(aResponse()
                        .withStatus(202)
                        .withHeader("Content-Type", "application/json")
                        .withBody("{}")));

        // Another instance holding the pass: this one does nothing.
        try (var conn = dataSource.getConnection();
                var lock = conn.createStatement()) {
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

    @Test
    void a_stored_delivery_can_be_reprocessed_by_an_admin() throws Exception {
        var delivery = id();
        deliver("pull_request", delivery, payload("pull_request.opened"));
        assertThat(outcome(delivery)).isEqualTo("processed");
        var reply = send("POST", "/admin/deliveries/" + delivery + "/reprocess", ADMIN);
        assertThat(reply.status()).isEqualTo(202);
        var jobId = reply.body().get("job_id").asLong();
        assertThat(jdbc().sql("SELECT dedup_key FROM jobs WHERE id = :id")
                        .param("id", jobId)
                        .query(String.class)
                        .single())
                .isEqualTo("github-delivery:" + delivery + ":reprocess:1");
        await().atMost(Duration.ofSeconds(20))
                .until(() -> queue.find(jobId).orElseThrow().status().name().equals("SUCCEEDED"));
        assertThat(send("POST", "/admin/deliveries/no-such-delivery/reprocess", ADMIN)
                        .status())
                .isEqualTo(404);
        assertThat(send("POST", "/admin/deliveries/" + delivery + "/reprocess", null)
                        .status())
                .isEqualTo(401);
    }
}
