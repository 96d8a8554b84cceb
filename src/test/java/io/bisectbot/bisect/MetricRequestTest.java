package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** {@code mode: metric} in a bisect request: defaults, limits and the messages for bad values. */
class MetricRequestTest {

    private static final BisectProperties LIMITS =
            new BisectProperties(Duration.ofMinutes(10), Duration.ofHours(2), 4, 20, false, true);
    private static final JsonMapper json = JsonMapper.builder().build();

    private static BisectRequest parse(String extra) {
        return BisectRequest.parse(json.readTree("""
                {"repo": "https://github.com/acme/app.git", "good": "v1", "bad": "main", "command": "./bench.sh"%s}""".formatted(extra)), LIMITS, "debian:bookworm");
    }

    @Test
    void
            metric_mode_defaults_to_five_runs_the_last_number_on_stdout_lower_is_better_ten_percent_and_alpha_five_percent() {
        var request = parse(", \"mode\": \"metric\"");
        assertThat(request.metric()).isEqualTo(MetricOptions.defaults());
        assertThat(request.options().repeat()).as("not the flaky-test repeat").isEqualTo(1);
        var again = BisectRequest.parse(request.toPayload(), LIMITS, "debian:bookworm");
        assertThat(again.metric()).isEqualTo(request.metric());
    }

    @Test
    void every_metric_setting_is_read() {
        var request = parse(
                ", \"mode\": \"metric\", \"metric\": \"wall\", \"direction\": \"higher-is-better\", \"repeat\": 6,"
                        + " \"max_repeat\": 18, \"threshold\": 25, \"alpha\": 0.01");
        assertThat(request.metric())
                .isEqualTo(new MetricOptions(
                        MetricOptions.Source.WALL, MetricOptions.Direction.HIGHER_IS_BETTER, 6, 18, 0.25, 0.01));
    }

    @Test
    void bad_values_say_what_is_wrong_and_what_would_be_right() {
        assertThatThrownBy(() -> parse(", \"mode\": \"perf\""))
                .hasMessage("'mode' must be pass-fail or metric, got 'perf'");
        assertThatThrownBy(() -> parse(", \"mode\": \"metric\", \"alpha\": 1.5"))
                .hasMessage("'alpha' must be a significance level, e.g. 0.05, above 0 and below 1, got 1.5");
        assertThatThrownBy(() -> parse(", \"mode\": \"metric\", \"threshold\": 0"))
                .hasMessage("'threshold' must be a percentage, e.g. 10 for 10 %, above 0 and at most 1000, got 0");
        assertThatThrownBy(() -> parse(", \"mode\": \"metric\", \"repeat\": 1"))
                .hasMessage("'repeat' must be a whole number from 2 to 20 in metric mode, got 1");
        assertThatThrownBy(() -> parse(", \"mode\": \"metric\", \"repeat\": 8, \"max_repeat\": 6"))
                .hasMessage("'max_repeat' must be a whole number from 8 to 20 in metric mode, got 6");
        assertThatThrownBy(() -> parse(", \"mode\": \"metric\", \"metric\": \"cpu\""))
                .hasMessageStartingWith("'metric' must be stdout (the last number the command prints) or wall");
        assertThatThrownBy(() -> parse(", \"threshold\": 10"))
                .hasMessage("'threshold' applies only to \"mode\": \"metric\"; add it or drop 'threshold'");
    }
}
