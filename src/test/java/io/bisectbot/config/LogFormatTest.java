package io.bisectbot.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.bisectbot.BisectbotApplication;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

@ExtendWith(OutputCaptureExtension.class)
class LogFormatTest {

    @Test
    void a_terminal_gets_plain_text_and_anything_else_json() {
        assertThat(LogFormat.defaultFor(true)).isEmpty();
        assertThat(LogFormat.defaultFor(false)).isEqualTo("ecs");
        assertThat(LogFormat.isTerminal(null)).isFalse();
        // The test JVM's output goes to a file, as a service's output goes to a collector.
        assertThat(LogFormat.stdoutIsTerminal()).isFalse();
    }

    @Test
    void log_format_overrides_the_chosen_default() {
        var environment = new org.springframework.core.env.StandardEnvironment();
        environment
                .getPropertySources()
                .addFirst(new org.springframework.core.env.MapPropertySource(
                        "test", java.util.Map.of("bisectbot.default-log-format", "")));
        assertThat(environment.resolvePlaceholders("${LOG_FORMAT:${bisectbot.default-log-format:ecs}}"))
                .isEmpty();
        environment
                .getPropertySources()
                .addFirst(new org.springframework.core.env.MapPropertySource(
                        "env", java.util.Map.of("LOG_FORMAT", "logstash")));
        assertThat(environment.resolvePlaceholders("${LOG_FORMAT:${bisectbot.default-log-format:ecs}}"))
                .isEqualTo("logstash");
    }

    @Test
    void a_start_failure_is_plain_text_on_standard_error_with_the_problem_and_the_action(CapturedOutput output) {
        var app = new SpringApplication(BisectbotApplication.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        assertThatThrownBy(() ->
                        app.run("--bisectbot.database.url=mysql://db/x", "--logging.structured.format.console=ecs"))
                .isInstanceOf(RuntimeException.class);
        assertThat(output.getErr())
                .contains("bisectbot could not start.")
                .contains("Problem: DATABASE_URL must start with postgres://")
                .contains("What to do: Fix DATABASE_URL");
        assertThat(output.getErr().lines().filter(line -> line.contains("Problem:")))
                .allSatisfy(line -> assertThat(line).doesNotStartWith("{"));
    }

    @Test
    void the_reporter_prints_the_description_and_the_action() {
        var bytes = new ByteArrayOutputStream();
        new PlainFailureReporter(new PrintStream(bytes, true, StandardCharsets.UTF_8))
                .report(new FailureAnalysis("The port 8080 is in use.", "Set PORT to a free port.", null));
        assertThat(bytes.toString(StandardCharsets.UTF_8))
                .contains(
                        "bisectbot could not start.\n\nProblem: The port 8080 is in use.\n\nWhat to do: Set PORT to a free port.");
    }
}
