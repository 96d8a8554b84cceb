package io.bisectbot.bisect;

import java.util.Locale;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** The job result of a bisect job: what {@code /job/{id}} shows and what reports are made from. */
final class BisectResultJson {

    private BisectResultJson() {}

    static ObjectNode of(BisectResult result, String report) {
        var json = JsonNodeFactory.instance.objectNode();
        var outcome = json.putObject("outcome");
        switch (result.outcome()) {
            case BisectOutcome.FirstBad first -> {
                outcome.put("type", "first_bad");
                outcome.set("commit", commit(first.commit()));
            }
            case BisectOutcome.OnlySkippedLeft skipped -> {
                outcome.put("type", "only_skipped_left");
                var candidates = outcome.putArray("candidates");
                skipped.candidates().forEach(c -> candidates.add(commit(c)));
            }
            case BisectOutcome.EndsNotAsExpected ends -> {
                outcome.put("type", "ends_not_as_expected");
                outcome.put("advice", ends.advice());
                var problems = outcome.putArray("problems");
                ends.problems()
                        .forEach(p -> problems.addObject()
                                .put("commit", p.commit())
                                .put("expected", name(p.expected()))
                                .put("actual", name(p.actual())));
            }
            case BisectOutcome.MergeBaseBad base -> {
                outcome.put("type", "merge_base_bad");
                outcome.put("merge_base", base.mergeBase());
                outcome.put("message", base.message());
            }
            case BisectOutcome.Aborted aborted -> {
                outcome.put("type", "aborted");
                outcome.put("reason", aborted.reason());
            }
            case BisectOutcome.NoSignificantChange none -> {
                outcome.put("type", "no_significant_change");
                outcome.put("message", none.message());
                number(outcome, "change", none.change());
                number(outcome, "p_value", none.pValue());
            }
        }
        // The answer in two plain fields, for scripts: the culprit's sha (or null), and every commit that may be it.
        var candidates = json.putArray("candidates");
        switch (result.outcome()) {
            case BisectOutcome.FirstBad first -> {
                json.put("first_bad_commit", first.commit().sha());
                candidates.add(first.commit().sha());
            }
            case BisectOutcome.OnlySkippedLeft skipped -> {
                json.putNull("first_bad_commit");
                skipped.candidates().forEach(c -> candidates.add(c.sha()));
            }
            default -> json.putNull("first_bad_commit");
        }
        json.put("bad", result.bad());
        var goods = json.putArray("good");
        result.goods().forEach(goods::add);
        json.put("candidate_count", result.candidateCount());
        json.put("test_runs", result.testRuns());
        json.put("verification_runs", result.verificationRuns());
        json.put("reused_runs", result.reusedRuns());
        json.put("cancelled_runs", result.cancelledRuns());
        json.put("rounds", result.rounds());
        var sameTree = json.putArray("same_tree");
        result.sameTrees()
                .forEach(t -> sameTree.addObject()
                        .put("commit", t.commit().sha())
                        .put("same_tree_as", t.sameTreeAs())
                        .put("tree", t.tree())
                        .put("runs", t.runs())
                        .put("earlier_job", t.earlierJob()));
        var steps = json.putArray("steps");
        for (var step : result.steps()) {
            var node = steps.addObject();
            node.put("seq", step.seq());
            node.put("commit", step.commit().sha());
            node.put("subject", step.commit().subject());
            node.put("run", step.runIndex() + 1);
            node.put("purpose", step.purpose().name().toLowerCase(Locale.ROOT));
            switch (step.result()) {
                case StepResult.Exited exited -> {
                    node.put("outcome", "exited").put("exit_code", exited.exitCode());
                    if (result.metric() != null) {
                        var value =
                                MetricTally.measurement(exited, result.metric().options());
                        if (value != null) number(node, "metric", value);
                    }
                }
                case StepResult.TimedOut ignored -> node.put("outcome", "timed_out");
                case StepResult.InfraError error ->
                    node.put("outcome", "infra_error").put("message", error.message());
                case StepResult.Cancelled ignored -> node.put("outcome", "cancelled");
            }
            node.put("verdict", name(step.verdict()));
            node.put("duration_ms", step.duration().toMillis());
            node.put("reused", step.reused());
            BisectReport.sameTreeAs(result, step).ifPresent(from -> node.put("same_tree_as", from));
        }
        var commits = json.putArray("commits");
        for (var tested : result.commits()) {
            commits.addObject()
                    .put("commit", tested.commit().sha())
                    .put("verdict", name(tested.verdict()))
                    .put("passes", tested.passes())
                    .put("failures", tested.failures())
                    .put("disagreements", tested.disagreements());
        }
        if (result.metric() != null) {
            json.set("metric", metric(result.metric()));
        }
        json.put("report", report);
        return json;
    }

    private static ObjectNode metric(MetricSummary summary) {
        var node = JsonNodeFactory.instance.objectNode();
        var options = summary.options();
        node.put("source", options.source().word());
        node.put("direction", options.direction().word());
        node.put("repeat", options.repeat());
        node.put("max_repeat", options.maxRepeat());
        node.put("threshold_percent", options.threshold() * 100);
        node.put("alpha", options.alpha());
        var commits = node.putArray("commits");
        for (var c : summary.commits()) {
            var item = commits.addObject();
            item.put("commit", c.commit().sha());
            item.put("subject", c.commit().subject());
            item.put("role", c.role());
            item.put("n", c.n());
            number(item, "median", c.median());
            number(item, "q1", c.q1());
            number(item, "q3", c.q3());
            number(item, "min", c.min());
            number(item, "max", c.max());
            var values = item.putArray("values");
            c.values().forEach(values::add);
            item.put("verdict", name(c.verdict()));
            if (c.change() != null) number(item, "change", c.change());
            if (c.pValue() != null) number(item, "p_value", c.pValue());
        }
        node.set("at_bad_end", change(summary.atBadEnd()));
        node.set("at_culprit", change(summary.atCulprit()));
        node.put("chart_svg", MetricChart.svg(summary));
        return node;
    }

    private static tools.jackson.databind.JsonNode change(MetricSummary.Change change) {
        if (change == null) return JsonNodeFactory.instance.nullNode();
        var node = JsonNodeFactory.instance.objectNode();
        node.put("commit", change.commit());
        node.put("against", change.against());
        number(node, "change", change.change());
        number(node, "p_value", change.pValue());
        number(node, "confidence", change.confidence());
        node.put("n", change.n());
        node.put("against_n", change.againstN());
        return node;
    }

    /** JSON has no infinity: an infinite change (from a zero baseline) is null. */
    private static void number(ObjectNode node, String field, double value) {
        if (Double.isFinite(value)) node.put(field, value);
        else node.putNull(field);
    }

    private static ObjectNode commit(CommitInfo commit) {
        var node = JsonNodeFactory.instance.objectNode();
        node.put("sha", commit.sha());
        node.put("subject", commit.subject());
        node.put("author", commit.author());
        node.put("date", commit.date() == null ? null : commit.date().toString());
        return node;
    }

    private static String name(Verdict verdict) {
        return verdict == null ? null : verdict.name().toLowerCase(Locale.ROOT);
    }
}
