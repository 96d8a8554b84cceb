package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

class BisectCommandTest {

    @Test
    void parses_the_flags_into_a_job_payload() {
        var payload = BisectCommand.parse(new String[] {
            "--repo",
            "/src/app",
            "--good",
            "v1.2",
            "--good",
            "v1.1",
            "--bad",
            "main",
            "-k",
            "3",
            "--repeat",
            "5",
            "--rule",
            "any-fail",
            "--timeout",
            "90s",
            "--first-parent",
            "--",
            "./run-test.sh",
            "--fast"
        });
        assertThat(payload.get("repo").asString()).isEqualTo("/src/app");
        assertThat(payload.get("good").toString()).isEqualTo("[\"v1.2\",\"v1.1\"]");
        assertThat(payload.get("bad").asString()).isEqualTo("main");
        assertThat(payload.get("parallelism").asInt()).isEqualTo(3);
        assertThat(payload.get("repeat").asInt()).isEqualTo(5);
        assertThat(payload.get("repeat_rule").asString()).isEqualTo("any-fail");
        assertThat(payload.get("timeout_seconds").asInt()).isEqualTo(90);
        assertThat(payload.get("first_parent").asBoolean()).isTrue();
        assertThat(payload.get("command").toString()).isEqualTo("[\"./run-test.sh\",\"--fast\"]");
    }

    @Test
    void bad_defaults_to_head_and_repo_to_the_current_directory() {
        var payload = BisectCommand.parse(new String[] {"--good", "v1", "--", "make", "test"});
        assertThat(payload.get("bad").asString()).isEqualTo("HEAD");
        assertThat(payload.get("repo").asString()).startsWith("/");
    }

    @Test
    void a_bad_flag_prints_usage_and_exits_2() {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        assertThat(BisectCommand.checkUsage(
                        new String[] {"--good", "v1", "--frob", "--", "true"},
                        new PrintStream(out),
                        new PrintStream(err)))
                .isEqualTo(2);
        assertThat(err.toString()).contains("unknown option '--frob'").contains("usage: bisectbot bisect");
        assertThat(BisectCommand.checkUsage(new String[] {"--help"}, new PrintStream(out), new PrintStream(err)))
                .isZero();
        assertThat(BisectCommand.checkUsage(
                        new String[] {"--good", "v1", "--", "true"}, new PrintStream(out), new PrintStream(err)))
                .isNull();
    }

    @Test
    void says_what_is_missing() {
        assertThatThrownBy(() -> BisectCommand.parse(new String[] {"--", "true"}))
                .hasMessageContaining("--good");
        assertThatThrownBy(() -> BisectCommand.parse(new String[] {"--good", "v1"}))
                .hasMessageContaining("after '--'");
        assertThatThrownBy(() -> BisectCommand.parse(new String[] {"--good", "v1", "-k", "many", "--", "true"}))
                .hasMessageContaining("whole number");
        assertThatThrownBy(() -> BisectCommand.parse(new String[] {"--good", "v1", "--timeout", "soon", "--", "true"}))
                .hasMessageContaining("90s or 10m");
    }

    @Test
    void exit_statuses_follow_the_documented_codes() {
        assertThat(BisectCommand.exitStatus("first_bad")).isZero();
        assertThat(BisectCommand.exitStatus("only_skipped_left")).isEqualTo(1);
        assertThat(BisectCommand.exitStatus("ends_not_as_expected")).isEqualTo(3);
        assertThat(BisectCommand.exitStatus("merge_base_bad")).isEqualTo(3);
        assertThat(BisectCommand.exitStatus("aborted")).isEqualTo(4);
        assertThat(BisectCommand.USAGE)
                .contains("0 first bad commit found, 1 no single culprit")
                .contains("2 usage error, 3 the given ends do not verify")
                .contains("4 infrastructure");
    }

    @Test
    void the_format_is_text_markdown_or_json_and_anything_else_is_a_usage_error() {
        assertThat(BisectCommand.format(new String[] {"--good", "v1", "--", "make"}))
                .isEqualTo("text");
        assertThat(BisectCommand.format(new String[] {"--format", "json", "--good", "v1", "--", "make"}))
                .isEqualTo("json");
        // After "--" the words belong to the test command.
        assertThat(BisectCommand.format(new String[] {"--good", "v1", "--", "tool", "--format", "yaml"}))
                .isEqualTo("text");
        var err = new ByteArrayOutputStream();
        assertThat(BisectCommand.checkUsage(
                        new String[] {"--format", "yaml", "--good", "v1", "--", "make"},
                        new PrintStream(new ByteArrayOutputStream()),
                        new PrintStream(err)))
                .isEqualTo(2);
        assertThat(err.toString()).contains("--format needs one of text, markdown, json, got 'yaml'");
    }

    @Test
    void metric_mode_flags_go_into_the_payload_and_are_checked_up_front() {
        var payload = BisectCommand.parse(new String[] {
            "--good",
            "v1",
            "--mode",
            "metric",
            "--repeat",
            "7",
            "--threshold",
            "15%",
            "--alpha",
            "0.01",
            "--max-repeat",
            "28",
            "--metric",
            "wall",
            "--direction",
            "higher-is-better",
            "--",
            "./bench.sh"
        });
        assertThat(payload.get("mode").asString()).isEqualTo("metric");
        assertThat(payload.get("repeat").asInt()).isEqualTo(7);
        assertThat(payload.get("threshold").asDouble()).isEqualTo(15.0);
        assertThat(payload.get("alpha").asDouble()).isEqualTo(0.01);
        assertThat(payload.get("max_repeat").asInt()).isEqualTo(28);
        assertThat(payload.get("metric").asString()).isEqualTo("wall");
        assertThat(payload.get("direction").asString()).isEqualTo("higher-is-better");
        assertThatThrownBy(() -> BisectCommand.parse(new String[] {"--good", "v1", "--mode", "perf", "--", "true"}))
                .hasMessage("--mode needs one of pass-fail, metric, got 'perf'");
        assertThatThrownBy(() -> BisectCommand.parse(new String[] {"--good", "v1", "--threshold", "5", "--", "true"}))
                .hasMessage("--threshold applies only to --mode metric");
        assertThatThrownBy(() -> BisectCommand.parse(
                        new String[] {"--good", "v1", "--mode", "metric", "--alpha", "low", "--", "true"}))
                .hasMessage("--alpha needs a number, got 'low'");
        assertThat(BisectCommand.exitStatus("no_significant_change")).isEqualTo(1);
    }

    @Test
    void the_live_status_line_is_drawn_only_where_progress_goes_to_a_terminal() {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        var stdout = new PrintStream(out, true);
        var stderr = new PrintStream(err, true);
        var onlyStdout = new Terminal(true, false, 100);

        var text = BisectCommand.statusLine("text", stdout, stderr, onlyStdout, () -> 0L);
        text.round(1, 15, 4);
        text.refresh();
        assertThat(out.toString())
                .startsWith("\r")
                .contains("round 1 · 15 commits left")
                .endsWith("\u001b[K");
        assertThat(err.toString()).isEmpty();

        out.reset();
        // The report is for a machine: progress goes to standard error, which here is not a terminal.
        var json = BisectCommand.statusLine("json", stdout, stderr, onlyStdout, () -> 0L);
        json.round(1, 15, 4);
        json.refresh();
        json.println("  verify   7e36912d0d run 1: bad (exit 1), 0.8 s");
        assertThat(out.toString()).isEmpty();
        assertThat(err.toString())
                .isEqualTo("  verify   7e36912d0d run 1: bad (exit 1), 0.8 s" + System.lineSeparator());

        err.reset();
        var toTerminal = BisectCommand.statusLine("markdown", stdout, stderr, new Terminal(false, true, 100), () -> 0L);
        toTerminal.refresh();
        assertThat(err.toString()).isEqualTo("\rverifying the ends\u001b[K");
    }
}
