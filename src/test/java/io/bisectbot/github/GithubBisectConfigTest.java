package io.bisectbot.github;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.bisect.BisectProperties;
import io.bisectbot.bisect.BisectReport;
import io.bisectbot.bisect.BisectRequest;
import io.bisectbot.bisect.MetricOptions;
import io.bisectbot.cache.CachePaths;
import io.bisectbot.executor.StepSpec;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The {@code bisect:} settings of a repository's config, through GitHub intake: a signed {@code issue_comment} with
 * {@code /bisect}, the config served as GitHub's contents API serves it, and the payload of the job it enqueues, read
 * back as the bisect job reads it. Metric settings, dependency caches and network, and the trust that decides whose
 * caches and whether the network.
 */
class GithubBisectConfigTest extends GithubAppFixture {

    /** The service's limits as a bisect job has them by default. */
    static final BisectProperties LIMITS =
            new BisectProperties(Duration.ofMinutes(10), Duration.ofHours(2), 4, 20, false, true);

    static final String DEFAULT_IMAGE = "debian:bookworm";
    static final String FORK_HEAD = "fedcba9876543210fedcba9876543210fedcba98";

    static void config(String repository, String text) {
        github.stubFor(get(urlPathEqualTo("/repos/Codertocat/" + repository + "/contents/.github/bisectbot.yml"))
                .willReturn(aResponse().withStatus(200).withBody(text)));
    }

    static ObjectNode inRepository(ObjectNode payload, String name) {
        ((ObjectNode) payload.get("repository"))
                .put("name", name)
                .put("full_name", "Codertocat/" + name)
                .put("clone_url", "https://github.com/Codertocat/" + name + ".git");
        return payload;
    }

    static ObjectNode onPullRequest(ObjectNode payload, int number) {
        ((ObjectNode) payload.get("issue"))
                .putObject("pull_request")
                .put("url", "https://api.github.com/pulls/" + number);
        return payload;
    }

    /** Pull request {@code number} of {@code repository}, its head in mallory's fork. */
    static void forkPullRequest(String repository, int number) {
        github.stubFor(get(urlPathEqualTo("/repos/Codertocat/" + repository + "/pulls/" + number))
                .willReturn(okJson("""
                {"number": %d, "state": "open", "user": {"login": "mallory", "type": "User"},
                 "head": {"sha": "%s", "ref": "faster", "repo": {"id": 666, "full_name": "mallory/%s"}},
                 "base": {"ref": "master"}}""".formatted(number, FORK_HEAD, repository))));
    }

    JsonNode jobPayload(String key) {
        await().atMost(Duration.ofSeconds(20)).until(() -> jobsWithKey(key) == 1);
        return json.readTree(jdbc().sql("SELECT payload::text FROM jobs WHERE dedup_key = :key")
                .param("key", key)
                .query(String.class)
                .single());
    }

    String reply(String repository, long issue, String keyPattern) {
        awaitOutboxDone(keyPattern);
        return json.readTree(effective("POST", "/repos/Codertocat/" + repository + "/issues/" + issue + "/comments")
                        .getFirst()
                        .getRequest()
                        .getBodyAsString())
                .get("body")
                .asString();
    }

    long jobsOf(JsonNode payload) {
        return jdbc().sql("SELECT count(*) FROM jobs WHERE dedup_key LIKE :k")
                .param("k", "github-command:" + commandKey(payload) + "%")
                .query(Long.class)
                .single();
    }

    @Test
    void the_metric_settings_of_the_config_reach_the_bisect_job_and_a_comment_s_repeat_overrides_its_own()
            throws Exception {
        config("Metric", """
                bisect:
                  image: ghcr.io/acme/build:1
                  command: ./bench.sh
                  mode: metric
                  metric: wall
                  direction: higher-is-better
                  repeat: 6
                  threshold: 7.5
                  alpha: 0.01
                  max_repeat: 16
                """);
        var payload = inRepository(
                comment("/bisect good=v1 bad=main\n/bisect good=v1 bad=main repeat=8", "OWNER", "Codertocat", 41, 4101),
                "Metric");
        assertThat(deliver("issue_comment", id(), payload).status()).isEqualTo(202);

        var job = jobPayload("github-command:" + commandKey(payload) + ":0");
        assertThat(job.get("mode").asString()).isEqualTo("metric");
        assertThat(job.get("metric").asString()).isEqualTo("wall");
        assertThat(job.get("direction").asString()).isEqualTo("higher-is-better");
        assertThat(job.get("threshold").asDouble()).isEqualTo(7.5);
        assertThat(job.get("alpha").asDouble()).isEqualTo(0.01);
        assertThat(job.get("max_repeat").asInt()).isEqualTo(16);
        assertThat(job.get("repeat").asInt()).isEqualTo(6);
        // What the bisect job reads from it: the threshold as a fraction.
        assertThat(BisectRequest.parse(job, LIMITS, DEFAULT_IMAGE).metric())
                .isEqualTo(new MetricOptions(
                        MetricOptions.Source.WALL, MetricOptions.Direction.HIGHER_IS_BETTER, 6, 16, 0.075, 0.01));

        var overridden = jobPayload("github-command:" + commandKey(payload) + ":1");
        assertThat(overridden.get("repeat").asInt()).isEqualTo(8);
        assertThat(BisectRequest.parse(overridden, LIMITS, DEFAULT_IMAGE)
                        .metric()
                        .repeat())
                .isEqualTo(8);
    }

    @Test
    void a_metric_value_out_of_range_gets_the_config_error_reply_and_no_job() throws Exception {
        assertThat(configErrorReply(
                        "MetricBroken", "bisect:\n  command: ./bench.sh\n  mode: metric\n  alpha: 2\n", 42, 4201))
                .startsWith(
                        "**Error**: `bisect.alpha` in `.github/bisectbot.yml` must be a significance level above 0 and "
                                + "below 1, e.g. `0.05`, got `2`")
                .contains("No job was started. Fix the file and comment again.");
    }

    @Test
    void caches_and_network_of_the_config_reach_a_bisect_of_the_repository_s_own_refs_as_a_trusted_run()
            throws Exception {
        config("Cached", """
                bisect:
                  image: ghcr.io/acme/build:1
                  command: mvn -q test
                  cache: [/root/.m2/repository, /root/.npm]
                  network: bridge
                """);
        var payload = inRepository(comment("/bisect good=v1 bad=main", "OWNER", "Codertocat", 43, 4301), "Cached");
        deliver("issue_comment", id(), payload);

        var job = jobPayload("github-command:" + commandKey(payload) + ":0");
        assertThat(job.get("cache").toString()).isEqualTo("[\"/root/.m2/repository\",\"/root/.npm\"]");
        assertThat(job.get("network").asString()).isEqualTo("bridge");
        assertThat(job.get("github").has("untrusted"))
                .as("no pull request involved: trusted")
                .isFalse();

        var request = BisectRequest.parse(job, LIMITS, DEFAULT_IMAGE);
        assertThat(request.registryCredentials()).isTrue();
        assertThat(request.network()).isEqualTo(StepSpec.Network.BRIDGE);
        assertThat(request.cacheVolumes())
                .isEqualTo(CachePaths.volumes(
                        CachePaths.scope(1, "https://github.com/Codertocat/Cached.git", true),
                        List.of("/root/.m2/repository", "/root/.npm")));
        assertThat(BisectReport.environment(request))
                .contains(
                        "**Network:** every step had network (`network: bridge`)",
                        "**Caches kept between steps:** `/root/.m2/repository`, `/root/.npm`.");
    }

    @Test
    void a_fork_s_code_gets_caches_apart_from_trusted_runs_and_no_network_until_a_writer_approves_its_head()
            throws Exception {
        config("CachedFork", """
                bisect:
                  image: ghcr.io/acme/build:1
                  command: mvn -q test
                  cache: [/root/.m2/repository]
                  network: bridge
                """);
        forkPullRequest("CachedFork", 44);
        var trustedVolumes = CachePaths.volumes(
                CachePaths.scope(1, "https://github.com/Codertocat/CachedFork.git", true),
                List.of("/root/.m2/repository"));

        // On the fork's pull request.
        var onPr = onPullRequest(
                inRepository(comment("/bisect good=v1 bad=main", "OWNER", "Codertocat", 44, 4401), "CachedFork"), 44);
        deliver("issue_comment", id(), onPr);
        var job = jobPayload("github-command:" + commandKey(onPr) + ":0");
        assertThat(job.get("github").get("untrusted").asBoolean()).isTrue();
        assertThat(job.get("github").get("trust_reason").asString())
                .isEqualTo("its head is in the fork mallory/CachedFork");
        assertThat(job.get("cache").toString()).isEqualTo("[\"/root/.m2/repository\"]");
        var request = BisectRequest.parse(job, LIMITS, DEFAULT_IMAGE);
        assertThat(request.network()).isEqualTo(StepSpec.Network.NONE);
        assertThat(request.cacheVolumes()).singleElement().isNotEqualTo(trustedVolumes.getFirst());
        assertThat(BisectReport.environment(request))
                .contains(
                        "**Network:** none: `network: bridge` was asked for, but the code is not trusted (its head is in the fork "
                                + "mallory/CachedFork).",
                        "(this untrusted run's own, apart from trusted runs')");

        // On an issue, with a range that ends at the fork's pull request: the same code, so the same trust.
        var byRef = inRepository(
                comment("/bisect good=v1 bad=refs/pull/44/head", "OWNER", "Codertocat", 45, 4501), "CachedFork");
        deliver("issue_comment", id(), byRef);
        var refJob = jobPayload("github-command:" + commandKey(byRef) + ":0");
        assertThat(refJob.get("github").get("untrusted").asBoolean()).isTrue();
        assertThat(refJob.get("github").get("trust_reason").asString())
                .isEqualTo("its range names `refs/pull/44/head` of #44: its head is in the fork mallory/CachedFork");
        assertThat(BisectRequest.parse(refJob, LIMITS, DEFAULT_IMAGE).cacheVolumes())
                .isEqualTo(request.cacheVolumes());

        // A writer approves that exact head: the next bisect on it is trusted, with the trusted runs' caches and
        // network.
        var approve =
                onPullRequest(inRepository(comment("/bot approve", "OWNER", "Codertocat", 44, 4402), "CachedFork"), 44);
        var approval = id();
        deliver("issue_comment", approval, approve);
        assertThat(outcome(approval)).contains("approved " + FORK_HEAD + " by Codertocat");
        var again = onPullRequest(
                inRepository(comment("/bisect good=v1 bad=main k=2", "OWNER", "Codertocat", 44, 4403), "CachedFork"),
                44);
        deliver("issue_comment", id(), again);
        var approved = jobPayload("github-command:" + commandKey(again) + ":0");
        assertThat(approved.get("github").get("untrusted").asBoolean()).isFalse();
        assertThat(approved.get("github").get("trust_reason").asString())
                .isEqualTo("approved by @Codertocat for fedcba9");
        var trusted = BisectRequest.parse(approved, LIMITS, DEFAULT_IMAGE);
        assertThat(trusted.network()).isEqualTo(StepSpec.Network.BRIDGE);
        assertThat(trusted.cacheVolumes()).isEqualTo(trustedVolumes);
    }

    @Test
    void a_range_naming_a_pull_request_that_does_not_exist_is_not_trusted() throws Exception {
        config("CachedGhost", "bisect:\n  command: make test\n  cache: [/root/.cache]\n");
        github.stubFor(get(urlPathEqualTo("/repos/Codertocat/CachedGhost/pulls/404"))
                .willReturn(aResponse().withStatus(404).withBody("{\"message\":\"Not Found\"}")));
        var payload = inRepository(
                comment("/bisect good=v1 bad=pull/404/head", "OWNER", "Codertocat", 46, 4601), "CachedGhost");
        deliver("issue_comment", id(), payload);

        var job = jobPayload("github-command:" + commandKey(payload) + ":0");
        assertThat(job.get("github").get("untrusted").asBoolean()).isTrue();
        assertThat(job.get("github").get("trust_reason").asString())
                .isEqualTo("its range names `pull/404/head`, and #404 is no pull request of this repository");
    }

    @Test
    void a_cache_path_the_request_would_refuse_gets_the_config_error_reply_and_no_job() throws Exception {
        assertThat(configErrorReply(
                        "CachedBroken",
                        "bisect:\n  command: make test\n  cache: [/root/.m2, /work/src/target]\n",
                        47,
                        4701))
                .startsWith(
                        "**Error**: `bisect.cache` in `.github/bisectbot.yml`: '/work/src/target' is or overlaps the "
                                + "working directory (/work/src) or /tmp")
                .contains("No job was started.");
    }

    /** A /bisect comment on a repository with this config: the delivery ends in a config error, no job, and the reply. */
    private String configErrorReply(String repository, String yml, int issue, long commentId) throws Exception {
        config(repository, yml);
        var payload =
                inRepository(comment("/bisect good=v1 bad=main", "OWNER", "Codertocat", issue, commentId), repository);
        var delivery = id();
        deliver("issue_comment", delivery, payload);
        assertThat(outcome(delivery)).contains("config error");
        assertThat(jobsOf(payload)).isZero();
        return reply(repository, issue, "comment:config:" + commandKey(payload));
    }
}
