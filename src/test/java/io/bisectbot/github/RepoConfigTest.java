package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
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
        assertThat(config.bisect()).isEqualTo(new RepoConfig.Bisect("ghcr.io/acme/build:1", "make test",
                Duration.ofMinutes(20), 4, 2));
        assertThat(config.tasks().get("lint").get("anything").get(1).asString()).isEqualTo("here");
        assertThat(RepoConfig.parse("bisect:\n  timeout: 90\n").bisect().timeout()).isEqualTo(Duration.ofSeconds(90));
    }

    @Test
    void an_empty_or_missing_file_is_the_empty_config() throws Exception {
        assertThat(RepoConfig.parse(null)).isEqualTo(RepoConfig.EMPTY);
        assertThat(RepoConfig.parse("")).isEqualTo(RepoConfig.EMPTY);
        assertThat(RepoConfig.parse("# nothing yet\n")).isEqualTo(RepoConfig.EMPTY);
    }

    @Test
    void invalid_files_get_one_clear_message() {
        assertThatThrownBy(() -> RepoConfig.parse("bisect: [oops")).isInstanceOf(RepoConfig.Invalid.class)
                .hasMessageContaining("is not valid YAML");
        assertThatThrownBy(() -> RepoConfig.parse("bisekt:\n  command: x\n"))
                .hasMessageContaining("unknown key `bisekt`").hasMessageContaining("bisect, tasks");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  comand: x\n"))
                .hasMessageContaining("unknown key `bisect.comand`");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  parallelism: 0\n")).hasMessageContaining("`bisect.parallelism`");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  timeout: soon\n")).hasMessageContaining("`bisect.timeout`");
        assertThatThrownBy(() -> RepoConfig.parse("bisect:\n  command: 3\n")).hasMessageContaining("`bisect.command`");
        assertThatThrownBy(() -> RepoConfig.parse("- a\n- b\n")).hasMessageContaining("must be a mapping");
        assertThatThrownBy(() -> RepoConfig.parse("bisect: make test\n")).hasMessageContaining("`bisect`");
    }
}
