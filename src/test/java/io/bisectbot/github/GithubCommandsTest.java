package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.queue.NewJob;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.node.ObjectNode;

/** Slash commands in comments end to end: who may run them, what a malformed command or config gets, and that a bisect runs and reports once. */
class GithubCommandsTest extends GithubAppFixture {
    @Test
    void a_bisect_command_on_a_pull_request_runs_once_and_reports_once_through_429_and_502() throws Exception {
        var delivery = id();
        var payload =
                comment("Let's find it.\n/bisect good=v1.0 bad=HEAD k=3 -- make check", "OWNER", "Codertocat", 1, 1001);
        ((ObjectNode) payload.get("issue"))
                .putObject("pull_request")
                .put("url", "https://api.github.com" + REPO + "/pulls/1");
        assertThat(deliver("issue_comment", delivery, payload).status()).isEqualTo(202);

        var key = "github-command:" + commandKey(payload) + ":1";
        await().atMost(Duration.ofSeconds(20)).until(() -> jobsWithKey(key) == 1);
        var job = jdbc().sql("SELECT id, status, payload::text FROM jobs WHERE dedup_key = :key")
                .param("key", key)
                .query((rs, n) -> new Object[] {rs.getLong(1), rs.getString(2), rs.getString(3)})
                .single();
        var jobId = (long) job[0];
        var bisect = json.readTree((String) job[2]);
        assertThat(bisect).isEqualTo(json.readTree("""
                {"repo":"https://github.com/Codertocat/Hello-World.git","good":["v1.0"],"bad":"HEAD","command":"make check",
                 "image":"ghcr.io/acme/build:1","timeout_seconds":600,"parallelism":3,"repeat":1,
                 "github":{"installation_id":1,"owner":"Codertocat","repo":"Hello-World","issue_number":1,
                           "comment_id":1001,"head_sha":"%s","private":false,"untrusted":false,
                           "trust_reason":"its head is in this repository and @Codertocat has write access"}}""".formatted(HEAD)));
        await().atMost(Duration.ofSeconds(20))
                .until(() -> queue.find(jobId).orElseThrow().status().name().equals("SUCCEEDED"));
        awaitOutboxDone("%job:" + jobId);
        awaitOutboxDone("reaction:eyes:Codertocat/Hello-World:1001");

        assertThat(effective("POST", REPO + "/issues/comments/1001/reactions"))
                .extracting(e -> json.readTree(e.getRequest().getBodyAsString())
                        .get("content")
                        .asString())
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
        assertThat(comments.getFirst().getRequest().getBodyAsString())
                .contains("<!-- bisectbot:job:" + jobId + " -->", "deadbeef");
        assertThat(requests(e -> e.getResponse().getStatus() == 502)).isNotEmpty();
        // Installation tokens were fetched with the App's JWT.
        assertThat(requests(e -> e.getRequest().getUrl().endsWith("/access_tokens")))
                .allMatch(e -> e.getRequest().getHeader("Authorization").startsWith("Bearer ey"));
        assertThat(requests(e -> e.getRequest().getUrl().contains("/issues/comments/1001/")))
                .allMatch(e -> e.getRequest().getHeader("Authorization").equals("token ghs_test"));

        // A redelivery changes nothing.
        assertThat(deliver("issue_comment", delivery, payload)
                        .body()
                        .get("result")
                        .asString())
                .isEqualTo("duplicate");
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
        var body = json.readTree(replies.getFirst().getRequest().getBodyAsString())
                .get("body")
                .asString();
        assertThat(body)
                .startsWith("**Error**:")
                .contains("> /bisect good=v1 k=2", "Usage: `/bisect good=<ref> bad=<ref>");
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
        assertThat(effective("POST", REPO + "/issues/12/comments"))
                .singleElement()
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
        assertThat(jdbc().sql(
                                "SELECT count(*) FROM jobs WHERE kind = 'bisect' AND payload -> 'github' ->> 'comment_id' = '1301'")
                        .query(Long.class)
                        .single())
                .isEqualTo(1);
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
        assertThat(requests(e -> e.getRequest().getUrl().contains("/issues/14/")
                        || e.getRequest().getUrl().contains("/comments/140")))
                .isEmpty();
    }

    @Test
    void an_invalid_repository_config_gets_one_error_and_no_job() throws Exception {
        var delivery = id();
        var payload = comment("/bisect good=a bad=b\n/bisect good=c bad=d", "OWNER", "Codertocat", 15, 1501);
        ((ObjectNode) payload.get("repository"))
                .put("name", "Broken")
                .put("clone_url", "https://github.com/Codertocat/Broken.git");
        deliver("issue_comment", delivery, payload);
        assertThat(outcome(delivery)).contains("config error");
        awaitOutboxDone("comment:config:" + commandKey(payload));
        assertThat(effective("POST", "/repos/Codertocat/Broken/issues/15/comments"))
                .singleElement()
                .matches(e -> e.getRequest().getBodyAsString().contains("unknown key `bisect.comand`"));
        assertThat(jdbc().sql("SELECT count(*) FROM jobs WHERE dedup_key LIKE :k")
                        .param("k", "github-command:" + commandKey(payload) + "%")
                        .query(Long.class)
                        .single())
                .isZero();
    }

    @Test
    void cancel_stops_the_threads_jobs_and_help_answers() throws Exception {
        var github = json.readTree(
                "{\"github\":{\"installation_id\":1,\"owner\":\"Codertocat\",\"repo\":\"Hello-World\",\"issue_number\":16}}");
        var waiting = queue.enqueue(NewJob.of("sleep", github).withRunAt(Instant.parse("2099-01-01T00:00:00Z")))
                .job()
                .id();
        var elsewhere = queue.enqueue(NewJob.of(
                                "sleep",
                                json.readTree(
                                        "{\"github\":{\"installation_id\":1,\"owner\":\"Codertocat\",\"repo\":\"Hello-World\",\"issue_number\":17}}"))
                        .withRunAt(Instant.parse("2099-01-01T00:00:00Z")))
                .job()
                .id();
        var delivery = id();
        var payload = comment("/cancel\n/help", "COLLABORATOR", "Codertocat", 16, 1601);
        deliver("issue_comment", delivery, payload);
        assertThat(outcome(delivery)).contains("cancelled [" + waiting + "]", "help");
        assertThat(queue.find(waiting).orElseThrow().status().name()).isEqualTo("CANCELLED");
        assertThat(queue.find(elsewhere).orElseThrow().status().name()).isEqualTo("PENDING");
        awaitOutboxDone("comment:%" + commandKey(payload) + "%");
        assertThat(effective("POST", REPO + "/issues/16/comments"))
                .extracting(e -> e.getRequest().getBodyAsString())
                .anyMatch(b -> b.contains("Cancelled job " + waiting))
                .anyMatch(b -> b.contains("bisectbot commands"))
                .hasSize(2);
    }
}
