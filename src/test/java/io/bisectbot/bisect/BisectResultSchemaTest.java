package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** {@code bisectbot bisect --format json} prints the job result; it keeps to the schema in docs/. */
class BisectResultSchemaTest {

    private static final Schema SCHEMA = load();

    private static Schema load() {
        try {
            return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                    .getSchema(Files.readString(Path.of("docs/bisect-result.schema.json")));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static tools.jackson.databind.JsonNode json(int commits, Function<String, Integer> exitCodes) {
        var history = InMemoryHistory.linear(commits);
        var result = new BisectEngine(history, InProcessRunner.exitCodes(exitCodes), StepStore.none())
                .run(history.tip(), List.of(InMemoryHistory.sha(0)), BisectOptions.defaults());
        // Printed and read back, as a script reading standard output would.
        return JsonMapper.builder()
                .build()
                .readTree(BisectResultJson.of(result, "## report").toPrettyString());
    }

    @Test
    void a_found_culprit_validates_and_names_it_in_first_bad_commit() {
        var json = json(64, sha -> InMemoryHistory.index(sha) >= 23 ? 1 : 0);
        assertThat(SCHEMA.validate(json)).isEmpty();
        assertThat(json.get("first_bad_commit").asString()).isEqualTo(InMemoryHistory.sha(23));
        assertThat(json.get("candidates").size()).isOne();
        assertThat(json.get("test_runs").asInt()).isPositive();
    }

    @Test
    void only_skipped_commits_left_validates_with_every_candidate() {
        var json = json(20, sha -> InMemoryHistory.index(sha) == 9 ? 125 : InMemoryHistory.index(sha) >= 10 ? 1 : 0);
        assertThat(SCHEMA.validate(json)).isEmpty();
        assertThat(json.get("first_bad_commit").isNull()).isTrue();
        assertThat(json.get("candidates").size()).isEqualTo(2);
    }

    @Test
    void ends_that_do_not_verify_validate_too() {
        var json = json(10, sha -> 0);
        assertThat(SCHEMA.validate(json)).isEmpty();
        assertThat(json.get("outcome").get("type").asString()).isEqualTo("ends_not_as_expected");
    }

    @Test
    void the_schema_rejects_a_result_without_its_answer() {
        var json = (tools.jackson.databind.node.ObjectNode) json(10, sha -> InMemoryHistory.index(sha) >= 5 ? 1 : 0);
        json.remove("first_bad_commit");
        assertThat(SCHEMA.validate(json)).isNotEmpty();
    }

    private static tools.jackson.databind.JsonNode metricJson(int commits, int slowFrom) {
        var history = InMemoryHistory.linear(commits);
        var runner = new InProcessRunner(r -> new StepResult.Exited(
                0,
                java.time.Duration.ofMillis(5),
                (InMemoryHistory.index(r.commit()) >= slowFrom ? 130.0 : 100.0) + r.runIndex() % 4));
        var result = new BisectEngine(history, runner, StepStore.none())
                .run(
                        history.tip(),
                        List.of(InMemoryHistory.sha(0)),
                        BisectOptions.defaults(),
                        MetricOptions.defaults());
        return JsonMapper.builder()
                .build()
                .readTree(BisectResultJson.of(result, "## report").toPrettyString());
    }

    @Test
    void a_metric_result_validates_with_each_commits_sample_and_the_change_at_the_culprit() {
        var json = metricJson(30, 12);
        assertThat(SCHEMA.validate(json)).isEmpty();
        assertThat(json.get("first_bad_commit").asString()).isEqualTo(InMemoryHistory.sha(12));
        var metric = json.get("metric");
        assertThat(metric.get("at_culprit").get("change").asDouble()).isBetween(0.25, 0.35);
        assertThat(metric.get("commits").get(0).get("role").asString()).isEqualTo("good");
        assertThat(metric.get("chart_svg").asString()).startsWith("<svg");
        assertThat(json.get("steps").get(0).get("metric").isNumber()).isTrue();
    }

    @Test
    void no_significant_change_validates_and_names_no_commit() {
        var json = metricJson(30, 99);
        assertThat(SCHEMA.validate(json)).isEmpty();
        assertThat(json.get("outcome").get("type").asString()).isEqualTo("no_significant_change");
        assertThat(json.get("first_bad_commit").isNull()).isTrue();
        assertThat(json.get("candidates").size()).isZero();
        assertThat(json.get("metric").get("at_culprit").isNull()).isTrue();
    }
}
