package io.bisectbot.bots;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

class BotConfigTest {

    private static final YAMLMapper yaml = YAMLMapper.builder().build();

    private static JsonNode tasks(String text) {
        return yaml.readTree(text).get("tasks");
    }

    @Test
    void reads_container_tasks_and_built_in_actions() throws Exception {
        var tasks = BotConfig.parse(tasks("""
                tasks:
                  lint:
                    image: node:22
                    run: npm ci && npm run lint
                    on: [pull_request, command]
                    timeout: 10m
                    network: bridge
                    outputs: check
                  fix-format:
                    run: npx prettier --write .
                    on: [command, label:autofix]
                    outputs: pull_request
                    secrets: [NPM_TOKEN]
                  stale-close:
                    on: [schedule:PT72H]
                    action: close_pull_request
                    comment: "Closing: no update in 72 hours."
                """), "debian:bookworm", Duration.ofMinutes(30));

        assertThat(tasks).containsOnlyKeys("lint", "fix-format", "stale-close");
        var lint = tasks.get("lint");
        assertThat(lint.image()).isEqualTo("node:22");
        assertThat(lint.timeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(lint.network()).isEqualTo(BotTask.Network.BRIDGE);
        assertThat(lint.runsOn(new BotTask.Trigger.PullRequest())).isTrue();
        assertThat(lint.runsOn(new BotTask.Trigger.Command())).isTrue();
        var fix = tasks.get("fix-format");
        assertThat(fix.image()).as("default image").isEqualTo("debian:bookworm");
        assertThat(fix.network()).as("default network").isEqualTo(BotTask.Network.NONE);
        assertThat(fix.outputs()).isEqualTo(BotTask.Output.PULL_REQUEST);
        assertThat(fix.runsOn(new BotTask.Trigger.Label("autofix"))).isTrue();
        assertThat(fix.secrets()).containsExactly("NPM_TOKEN");
        assertThat(fix.cancelPrevious()).isTrue();
        var stale = tasks.get("stale-close");
        assertThat(stale.isAction()).isTrue();
        assertThat(stale.action()).isEqualTo(BotTask.Action.CLOSE_PULL_REQUEST);
        assertThat(stale.schedule()).contains(new BotTask.Trigger.Schedule(Duration.ofHours(72)));
    }

    @Test
    void reports_every_problem_at_once_naming_its_key() {
        assertThatThrownBy(() -> BotConfig.parse(tasks("""
                tasks:
                  lint:
                    run: make lint
                    on: [pull_request, push]
                    timout: 10m
                    outputs: slack
                  both:
                    run: make
                    action: comment
                    on: command
                  bad-deadline:
                    action: close_pull_request
                    on: [schedule:3 days]
                """), "img", Duration.ofMinutes(30)))
                .isInstanceOf(BotConfig.Invalid.class)
                .hasMessageContaining("`tasks.lint.timout`: unknown key")
                .hasMessageContaining("`push` is not a trigger")
                .hasMessageContaining("`tasks.lint.outputs`: must be check, comment or pull_request")
                .hasMessageContaining("`tasks.both`: give exactly one of `run`")
                .hasMessageContaining("`tasks.both.comment`: the comment action needs the comment text")
                .hasMessageContaining("schedule:PT72H")
                .satisfies(e -> assertThat(((BotConfig.Invalid) e).problems()).hasSize(6));
    }

    @Test
    void a_task_needs_a_trigger_and_a_sane_timeout() {
        assertThatThrownBy(() -> BotConfig.parse(tasks("""
                tasks:
                  lint:
                    run: make lint
                    timeout: forever
                """), "img", Duration.ofMinutes(30)))
                .hasMessageContaining("`tasks.lint.on`")
                .hasMessageContaining("`tasks.lint.timeout`");
    }

    @Test
    void no_tasks_section_means_no_tasks() throws Exception {
        assertThat(BotConfig.parse(null, "img", Duration.ofMinutes(1))).isEmpty();
    }

    @Test
    void a_task_s_cache_paths_are_read_and_a_bad_one_is_a_problem_naming_it() throws Exception {
        var tasks = BotConfig.parse(tasks("""
                tasks:
                  build:
                    run: mvn -q verify
                    on: [pull_request]
                    cache: [/root/.m2/repository]
                """), "debian:bookworm", Duration.ofMinutes(30));
        assertThat(tasks.get("build").cache()).containsExactly("/root/.m2/repository");

        assertThatThrownBy(() -> BotConfig.parse(tasks("""
                tasks:
                  build:
                    run: mvn -q verify
                    on: [pull_request]
                    cache: [/root/../etc]
                """), "debian:bookworm", Duration.ofMinutes(30)))
                .hasMessageContaining("`tasks.build.cache`: '/root/../etc' contains '..'");
    }
}
