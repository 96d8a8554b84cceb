package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.bisectbot.TestExecutor;
import io.bisectbot.executor.StepSpec;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

class BisectRequestCachingTest {

    private final BisectProperties limits = TestExecutor.bisectProperties(4);

    private static ObjectNode payload(String extra) {
        return (ObjectNode) JsonMapper.builder().build().readTree("""
                {"repo":"https://github.com/acme/app.git","good":"v1","bad":"main","command":"make test"%s}""".formatted(extra));
    }

    @Test
    void cache_paths_network_and_tree_reuse_are_read_and_written_back() {
        var request = BisectRequest.parse(
                payload(",\"cache\":[\"/root/.m2/repository\"],\"network\":\"bridge\",\"reuse_tree_verdicts\":false"),
                limits,
                TestExecutor.RUNNER_IMAGE);

        assertThat(request.caching().paths()).containsExactly("/root/.m2/repository");
        assertThat(request.network()).isEqualTo(StepSpec.Network.BRIDGE);
        assertThat(request.caching().reuseTreeVerdicts()).isFalse();
        assertThat(BisectRequest.parse(request.toPayload(), limits, TestExecutor.RUNNER_IMAGE))
                .isEqualTo(request);
        assertThat(request.cacheVolumes())
                .singleElement()
                .satisfies(v -> assertThat(v.path()).isEqualTo("/root/.m2/repository"));
    }

    @Test
    void by_default_there_is_no_cache_no_network_and_trees_share_verdicts() {
        var request = BisectRequest.parse(payload(""), limits, TestExecutor.RUNNER_IMAGE);

        assertThat(request.caching()).isEqualTo(BisectRequest.Caching.NONE);
        assertThat(request.network()).isEqualTo(StepSpec.Network.NONE);
        assertThat(request.toPayload().has("cache")).isFalse();
    }

    @Test
    void an_untrusted_pull_request_gets_no_network_and_caches_apart_from_trusted_runs() {
        var github =
                ",\"github\":{\"installation_id\":7,\"untrusted\":%s},\"cache\":[\"/root/.npm\"],\"network\":\"bridge\"";
        var untrusted = BisectRequest.parse(payload(github.formatted("true")), limits, TestExecutor.RUNNER_IMAGE);
        var trusted = BisectRequest.parse(payload(github.formatted("false")), limits, TestExecutor.RUNNER_IMAGE);

        assertThat(untrusted.network()).isEqualTo(StepSpec.Network.NONE);
        assertThat(trusted.network()).isEqualTo(StepSpec.Network.BRIDGE);
        assertThat(untrusted.cacheVolumes().getFirst().volume())
                .isNotEqualTo(trusted.cacheVolumes().getFirst().volume());
    }

    @Test
    void bad_cache_settings_say_which_value_and_what_is_right() {
        assertThatThrownBy(() -> BisectRequest.parse(
                        payload(",\"cache\":[\"/root/../etc\"]"), limits, TestExecutor.RUNNER_IMAGE))
                .hasMessageContaining("'cache': '/root/../etc' contains '..'");
        assertThatThrownBy(() ->
                        BisectRequest.parse(payload(",\"cache\":[\"/work/src\"]"), limits, TestExecutor.RUNNER_IMAGE))
                .hasMessageContaining("working directory");
        assertThatThrownBy(
                        () -> BisectRequest.parse(payload(",\"cache\":{\"a\":1}"), limits, TestExecutor.RUNNER_IMAGE))
                .hasMessageContaining("'cache' must list absolute directories");
        assertThatThrownBy(
                        () -> BisectRequest.parse(payload(",\"network\":\"host\""), limits, TestExecutor.RUNNER_IMAGE))
                .hasMessageContaining("'network' must be none or bridge, got 'host'");
        assertThatThrownBy(() -> BisectRequest.parse(
                        payload(",\"reuse_tree_verdicts\":\"no\""), limits, TestExecutor.RUNNER_IMAGE))
                .hasMessageContaining("'reuse_tree_verdicts' must be true or false");
    }

    @Test
    void the_command_line_takes_repeated_cache_paths_network_and_no_tree_reuse() {
        var payload = BisectCommand.parse(new String[] {
            "--good",
            "v1",
            "--cache",
            "/root/.m2/repository",
            "--cache",
            "/root/.npm",
            "--network",
            "bridge",
            "--no-tree-reuse",
            "--",
            "make",
            "test"
        });

        assertThat(payload.get("cache").toString()).isEqualTo("[\"/root/.m2/repository\",\"/root/.npm\"]");
        assertThat(payload.get("network").asString()).isEqualTo("bridge");
        assertThat(payload.get("reuse_tree_verdicts").asBoolean()).isFalse();
    }
}
