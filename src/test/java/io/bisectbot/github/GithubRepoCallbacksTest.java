package io.bisectbot.github;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.bisectbot.callbacks.CallbackVerifier;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The {@code callbacks} of a repository's config: taken from the default branch only (never from a pull request's
 * head, nor from another branch a pull request targets), each checked as a request's is, and sent signed.
 */
class GithubRepoCallbacksTest extends GithubAppFixture {

    static final String HOOKS = "/repos/Codertocat/Hooks";
    static final String HOOKS_PR = "/repos/Codertocat/HooksPr";
    static final String PR_HEAD = "89abcdef0123456789abcdef0123456789abcdef";

    record Received(Map<String, List<String>> headers, byte[] body) {
        String header(String name) {
            return headers.entrySet().stream()
                    .filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(e -> e.getValue().getFirst())
                    .findFirst()
                    .orElse(null);
        }
    }

    static HttpServer receiver;
    static final List<Received> received = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void receiver() throws Exception {
        receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        receiver.createContext("/", exchange -> {
            received.add(new Received(
                    Map.copyOf(exchange.getRequestHeaders()),
                    exchange.getRequestBody().readAllBytes()));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.start();
    }

    @AfterAll
    static void stopReceiver() {
        receiver.stop(0);
    }

    static String url(String path) {
        return "http://127.0.0.1:" + receiver.getAddress().getPort() + path;
    }

    static ObjectNode inRepository(ObjectNode payload, String name) {
        ((ObjectNode) payload.get("repository"))
                .put("name", name)
                .put("full_name", "Codertocat/" + name)
                .put("clone_url", "https://github.com/Codertocat/" + name + ".git");
        return payload;
    }

    static String config(String... callbackUrls) {
        var text = new StringBuilder("bisect:\n  image: ghcr.io/acme/build:1\n  command: make test\n");
        if (callbackUrls.length > 0) {
            text.append("callbacks:\n");
            for (var url : callbackUrls) {
                text.append("  - url: ").append(url).append("\n    events: [succeeded, progress]\n");
            }
        }
        return text.toString();
    }

    long jobOf(String key) {
        await().atMost(Duration.ofSeconds(20)).until(() -> jobsWithKey(key) == 1);
        return jdbc().sql("SELECT id FROM jobs WHERE dedup_key = :key")
                .param("key", key)
                .query(Long.class)
                .single();
    }

    List<String> callbackUrls(long job) {
        return jdbc().sql("SELECT url FROM job_callbacks WHERE job_id = :id ORDER BY position")
                .param("id", job)
                .query(String.class)
                .list();
    }

    @Test
    void the_default_branch_s_callbacks_are_checked_and_the_allowed_one_gets_the_job_s_end_signed() throws Exception {
        github.stubFor(get(urlPathEqualTo(HOOKS + "/contents/.github/bisectbot.yml"))
                .willReturn(aResponse()
                        .withStatus(200)
                        .withBody(
                                config(url("/hook"), "https://10.1.2.3/hook", "https://hooks.example.net/bisectbot"))));
        var payload = inRepository(comment("/bisect good=v1 bad=HEAD", "OWNER", "Codertocat", 21, 2101), "Hooks");
        assertThat(deliver("issue_comment", id(), payload).status()).isEqualTo(202);

        var jobId = jobOf("github-command:" + commandKey(payload) + ":0");
        assertThat(callbackUrls(jobId)).containsExactly(url("/hook"));
        await().atMost(Duration.ofSeconds(30)).until(() -> received.stream().anyMatch(r -> isEnd(r, jobId)));
        var end = received.stream().filter(r -> isEnd(r, jobId)).findFirst().orElseThrow();
        assertThat(CallbackVerifier.verify(
                                List.of(CALLBACK_SECRET),
                                end.header(CallbackVerifier.TIMESTAMP_HEADER),
                                end.header(CallbackVerifier.SIGNATURE_HEADER),
                                end.body(),
                                Instant.now())
                        .valid())
                .isTrue();

        // The two that are not allowed are dropped, each with a note on the job; the job ran all the same.
        var job = send("GET", "/job/" + jobId, ADMIN).body();
        assertThat(job.get("status").asString()).isEqualTo("SUCCEEDED");
        var notes = new java.util.ArrayList<String>();
        job.get("events").forEach(e -> {
            if (e.get("type").asString().equals("callback_refused")) {
                notes.add(e.get("detail").asString());
            }
        });
        assertThat(notes).hasSize(2);
        assertThat(notes.get(0))
                .startsWith("callback 2 of the repository's config is dropped")
                .contains("10.1.2.3");
        assertThat(notes.get(1))
                .startsWith("callback 3 of the repository's config is dropped")
                .contains("hooks.example.net");
    }

    @Test
    void callbacks_of_a_pull_request_s_head_or_of_a_branch_it_targets_are_never_taken() throws Exception {
        github.stubFor(get(urlPathEqualTo(HOOKS_PR + "/pulls/22")).willReturn(okJson("""
                {"number": 22, "state": "open", "user": {"login": "Codertocat", "type": "User"},
                 "head": {"sha": "%s", "ref": "hooks", "repo": {"id": 186853002, "full_name": "Codertocat/HooksPr"}},
                 "base": {"ref": "release"}}""".formatted(PR_HEAD))));
        var path = HOOKS_PR + "/contents/.github/bisectbot.yml";
        github.stubFor(get(urlPathEqualTo(path))
                .atPriority(5)
                .willReturn(aResponse().withStatus(200).withBody(config())));
        github.stubFor(get(urlPathEqualTo(path))
                .withQueryParam("ref", equalTo("release"))
                .atPriority(1)
                .willReturn(aResponse().withStatus(200).withBody(config(url("/from-release")))));
        github.stubFor(get(urlPathEqualTo(path))
                .withQueryParam("ref", equalTo(PR_HEAD))
                .atPriority(1)
                .willReturn(aResponse().withStatus(200).withBody(config(url("/from-head")))));
        var payload = inRepository(comment("/bisect good=v1 bad=HEAD", "OWNER", "Codertocat", 22, 2201), "HooksPr");
        ((ObjectNode) payload.get("issue"))
                .putObject("pull_request")
                .put("url", "https://api.github.com" + HOOKS_PR + "/pulls/22");
        assertThat(deliver("issue_comment", id(), payload).status()).isEqualTo(202);

        var jobId = jobOf("github-command:" + commandKey(payload) + ":0");
        // The job runs with the base branch's bisect settings, but carries no callbacks: the default branch has none.
        var job = queue.find(jobId).orElseThrow();
        assertThat(job.payload().get("command").asString()).isEqualTo("make test");
        assertThat(job.payload().has("repo_callbacks")).isFalse();
        assertThat(callbackUrls(jobId)).isEmpty();
        await().atMost(Duration.ofSeconds(20))
                .until(() -> queue.find(jobId).orElseThrow().status().name().equals("SUCCEEDED"));
        assertThat(received)
                .noneMatch(r -> json.readTree(r.body()).get("job").get("id").asLong() == jobId);
    }

    private static boolean isEnd(Received r, long jobId) {
        JsonNode event = json.readTree(r.body());
        return event.get("type").asString().equals("succeeded")
                && event.get("job").get("id").asLong() == jobId;
    }
}
