package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class RepoConfigTest {

    @Test
    void reads_the_bisect_section_and_keeps_tasks_raw() throws Exception {
        var config = RepoConfig.parse("""
                bisect:
                  image: ghcr.io/acme/build:1
                  command: make test
                  timeout: 20m
                  parallelism: 4
                  repeat: 2
                tasks:
                  lint:
                    command: make lint
                    anything: [goes, here]
                """);
        assertThat(config.bisect())
                .isEqualTo(new RepoConfig.Bisect(
                        "ghcr.io/acme/build:1", "make test", Duration.ofMinutes(20), 4, 2, null, List.of(), false));
        assertThat(config.tasks().get("lint").get("anything").get(1).asString()).isEqualTo("here");
        assertThat(RepoConfig.parse("bisect:\n  timeout: 90\n").bisect().timeout())
                .isEqualTo(Duration.ofSeconds(90));
    }

    @Test
    void metric_mode_reads_its_measurement_settings() throws Exception {
        var config = RepoConfig.parse("""
                bisect:
                  command: ./bench.sh
                  mode: metric
                  metric: wall
                  direction: higher-is-better
                  repeat: 6
                  threshold: 7.5
                  alpha: 0.01
                  max_repeat: 30
                """);
        assertThat(config.bisect().repeat()).isEqualTo(6);
        assertThat(config.bisect().metric())
                .isEqualTo(new RepoConfig.Metric("wall", "higher-is-better", 7.5, 0.01, 30));
        assertThat(RepoConfig.parse("bisect:\n  mode: metric\n").bisect().metric())
                .isEqualTo(RepoConfig.Metric.DEFAULTS);
        assertThat(RepoConfig.parse("bisect:\n  mode: pass-fail\n").bisect().metric())
                .isNull();
    }

    @Test
    void metric_settings_are_checked_and_refused_outside_metric_mode() {
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  threshold: 10\n"))
                .hasMessageContaining("`bisect.threshold`")
                .hasMessageContaining("applies only to `mode: metric`");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  mode: speed\n"))
                .hasMessageContaining("`bisect.mode`")
                .hasMessageContaining("pass-fail, metric")
                .hasMessageContaining("`speed`");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  mode: metric\n  metric: cpu\n"))
                .hasMessageContaining("`bisect.metric`")
                .hasMessageContaining("stdout, wall");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  mode: metric\n  direction: up\n"))
                .hasMessageContaining("`bisect.direction`")
                .hasMessageContaining("lower-is-better, higher-is-better");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  mode: metric\n  threshold: 0\n"))
                .hasMessageContaining("`bisect.threshold`")
                .hasMessageContaining("percentage");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  mode: metric\n  threshold: ten\n"))
                .hasMessageContaining("`bisect.threshold`");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  mode: metric\n  alpha: 1\n"))
                .hasMessageContaining("`bisect.alpha`")
                .hasMessageContaining("significance level");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  mode: metric\n  repeat: 1\n"))
                .hasMessageContaining("`bisect.repeat`")
                .hasMessageContaining("from 2");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  mode: metric\n  repeat: 8\n  max_repeat: 5\n"))
                .hasMessageContaining("`bisect.max_repeat`")
                .hasMessageContaining("at least `bisect.repeat` (8)");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  mode: metric\n  max_repeat: 1000\n"))
                .hasMessageContaining("`bisect.max_repeat`");
    }

    @Test
    void cache_paths_and_network_are_read_and_checked_as_a_bisect_request_s_are() throws Exception {
        var config = RepoConfig.parse("""
                bisect:
                  command: mvn -q test
                  cache: [/root/.m2/repository, /root/.npm/]
                  network: bridge
                """);
        assertThat(config.bisect().cache()).containsExactly("/root/.m2/repository", "/root/.npm");
        assertThat(config.bisect().bridgeNetwork()).isTrue();
        assertThat(RepoConfig.parse("bisect:\n  cache: /root/.gradle\n  network: none\n")
                        .bisect())
                .satisfies(b -> assertThat(b.cache()).containsExactly("/root/.gradle"))
                .satisfies(b -> assertThat(b.bridgeNetwork()).isFalse());
        assertThat(RepoConfig.parse("bisect:\n  command: make\n").bisect().cache())
                .isEmpty();
        // A pull request that only adds a cache still shows as a change of the bisect settings.
        assertThat(RepoConfig.parse("bisect:\n  command: make\n")
                        .changesTo(RepoConfig.parse("bisect:\n  command: make\n  cache: [/root/.npm]\n")))
                .containsExactly("`bisect` settings change");

        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  cache: [/root/../etc]\n"))
                .hasMessage(
                        "`bisect.cache` in `.github/bisectbot.yml`: '/root/../etc' contains '..'; give the directory without . or .. parts");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  cache: [root/.m2]\n"))
                .hasMessageContaining("`bisect.cache`")
                .hasMessageContaining("'root/.m2' is not absolute");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  cache: [/work/src/target]\n"))
                .hasMessageContaining("`bisect.cache`")
                .hasMessageContaining("working directory");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  cache: [/tmp]\n")).hasMessageContaining("/tmp");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  cache: [/a, /b, /c, /d, /e, /f, /g, /h, /i]\n"))
                .hasMessageContaining("at most 8");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  cache: {m2: /root/.m2}\n"))
                .hasMessageContaining("`bisect.cache`")
                .hasMessageContaining("list of absolute directories");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  cache: [42]\n"))
                .hasMessageContaining("`bisect.cache`")
                .hasMessageContaining("list of absolute directories");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  network: host\n"))
                .hasMessageContaining("`bisect.network`")
                .hasMessageContaining("none, bridge")
                .hasMessageContaining("`host`");
    }

    @Test
    void an_empty_or_missing_file_is_the_empty_config() throws Exception {
        assertThat(RepoConfig.parse(null)).isEqualTo(RepoConfig.EMPTY);
        assertThat(RepoConfig.parse("")).isEqualTo(RepoConfig.EMPTY);
        assertThat(RepoConfig.parse("# nothing yet\n")).isEqualTo(RepoConfig.EMPTY);
    }

    @Test
    void invalid_files_get_one_clear_message() {
        assertThatThrownBy(() -> RepoConfig.parse("bisect: [oops"))
                .isInstanceOf(RepoConfig.Invalid.class)
                .hasMessageContaining("is not valid YAML");
        assertThatThrownBy(() -> RepoConfig.parse("bisekt:\n  command: x\n"))
                .hasMessageContaining("unknown key `bisekt`")
                .hasMessageContaining("bisect, callbacks, tasks");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  comand: x\n"))
                .hasMessageContaining("unknown key `bisect.comand`");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  parallelism: 0\n"))
                .hasMessageContaining("`bisect.parallelism`");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  timeout: soon\n"))
                .hasMessageContaining("`bisect.timeout`");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  command: 3\n")).hasMessageContaining("`bisect.command`");
        assertThatThrownBy(() -> RepoConfig.parse("- a\n- b\n")).hasMessageContaining("must be a mapping");
        assertThatThrownBy(() -> RepoConfig.parse("bisect: make test\n")).hasMessageContaining("`bisect`");
    }

    @Test
    void callbacks_are_kept_as_written_once_their_shape_is_right() throws Exception {
        var config = RepoConfig.parse("""
                callbacks:
                  - url: https://ci.example.com/bisectbot
                    events: [succeeded, progress]
                  - url: https://chat.example.com/hook
                """);
        assertThat(config.callbacks()).hasSize(2);
        assertThat(config.callbacks().get(0).get("events").get(1).asString()).isEqualTo("progress");
        assertThat(RepoConfig.parse("callbacks: []\n").callbacks()).isNull();
        assertThat(RepoConfig.parse("bisect:\n  command: make\n").callbacks()).isNull();

        assertThatThrownBy(() -> RepoConfig.parse("callbacks: https://ci.example.com\n"))
                .hasMessageContaining("`callbacks`")
                .hasMessageContaining("list of mappings");
        assertThatThrownBy(() -> RepoConfig.parse("callbacks:\n  - events: [succeeded]\n"))
                .hasMessageContaining("`callbacks[0]`")
                .hasMessageContaining("needs a `url`");
        assertThatThrownBy(() -> RepoConfig.parse("callbacks:\n  - url: https://a.example.com\n    secret: x\n"))
                .hasMessageContaining("unknown key `secret` in `callbacks[0]`");
        assertThatThrownBy(
                        () -> RepoConfig.parse("callbacks:\n  - url: https://a.example.com\n    events: succeeded\n"))
                .hasMessageContaining("`events` of `callbacks[0]`");
    }

    @Test
    void a_change_of_the_callbacks_is_listed_and_said_to_apply_from_the_default_branch() throws Exception {
        var base = RepoConfig.parse("bisect:\n  command: make test\n");
        var proposed =
                RepoConfig.parse("bisect:\n  command: make test\ncallbacks:\n  - url: https://evil.example.com/\n");
        assertThat(base.changesTo(proposed))
                .containsExactly("`callbacks` change (they are read from the default branch only)");
        assertThat(base.changesTo(base)).isEmpty();
    }
}
