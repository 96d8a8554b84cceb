package io.bisectbot.api;

import io.bisectbot.bisect.BisectHistory;
import io.bisectbot.queue.Job;
import io.bisectbot.queue.JobStatus;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * A bisect job as its page shows it ({@code GET /job/{id}/bisect}): the range narrowing round by round, every run
 * with its verdict, the runs going on, each commit's passes and failures (what a flaky test's repeats add up to), and
 * once it ended the outcome, the culprit with its links and the report as HTML. While the job runs the stored runs
 * and rounds are read; once it succeeded, its result (which also holds the runs reused from the job it retries).
 */
record BisectView(
        long jobId,
        JobStatus status,
        String bad,
        List<String> good,
        Integer candidateCount,
        Repeat repeat,
        List<RoundView> rounds,
        List<StepView> steps,
        List<RunView> running,
        List<CommitView> commits,
        JsonNode outcome,
        Culprit culprit,
        String reportHtml,
        String reportUrl) {

    /** Runs per commit and how they combine; {@code runs} 1 is a plain bisection. */
    record Repeat(int runs, String rule) {}

    /** A round as it started: round 0 holds the runs on the ends before the search. */
    record RoundView(int round, Integer commitsLeft, Integer roundsToGo, Instant startedAt, List<String> tested) {}

    /** {@code log}: the name of its step log on this job, null for a run taken over from an earlier job. */
    record StepView(
            int seq,
            String commit,
            String subject,
            int run,
            String purpose,
            String outcome,
            Integer exitCode,
            String verdict,
            long durationMs,
            boolean reused,
            Double metric,
            Integer round,
            String log) {}

    record RunView(String commit, int run, String purpose, Integer round, String log) {}

    /** A tested commit: its verdict (null while more runs are needed) and how its runs came out. */
    record CommitView(String commit, String subject, String verdict, int passes, int failures, int skips, int runs) {}

    /** The first bad commit: {@code commitUrl} on the repository's web pages when known, {@code logs} its runs' step logs. */
    record Culprit(String sha, String subject, String author, String date, String commitUrl, List<String> logs) {}

    private static final Set<String> RULES = Set.of("all-fail", "any-fail", "majority");

    static BisectView of(Job job, List<BisectHistory.Step> stored, List<BisectHistory.Round> storedRounds) {
        var payload = job.payload();
        var result = job.status() == JobStatus.SUCCEEDED
                        && job.result() != null
                        && job.result().has("steps")
                ? job.result()
                : null;
        var rule = payload.path("repeat_rule").asString("all-fail");
        var repeat = new Repeat(Math.max(1, payload.path("repeat").asInt(1)), RULES.contains(rule) ? rule : "all-fail");

        var rounds = storedRounds.stream()
                .map(r -> new RoundView(r.round(), r.commitsLeft(), r.roundsToGo(), r.startedAt(), r.tested()))
                .toList();
        var steps = new ArrayList<StepView>();
        if (result != null) {
            for (var s : result.path("steps")) {
                var commit = s.path("commit").asString();
                var purpose = s.path("purpose").asString();
                var run = s.path("run").asInt(1);
                var reused = s.path("reused").asBoolean(false);
                steps.add(new StepView(
                        s.path("seq").asInt(),
                        commit,
                        s.path("subject").asString(null),
                        run,
                        purpose,
                        s.path("outcome").asString(null),
                        s.path("exit_code").isNumber() ? s.path("exit_code").asInt() : null,
                        s.path("verdict").asString(null),
                        s.path("duration_ms").asLong(0),
                        reused,
                        s.path("metric").isNumber() ? s.path("metric").asDouble() : null,
                        roundOf(rounds, commit, purpose),
                        reused ? null : log(commit, run, purpose)));
            }
        } else {
            for (var s : stored) {
                steps.add(new StepView(
                        s.seq() + 1,
                        s.commit(),
                        null,
                        s.run(),
                        s.purpose(),
                        s.outcome(),
                        s.exitCode(),
                        s.verdict(),
                        s.durationMs(),
                        false,
                        s.metric(),
                        roundOf(rounds, s.commit(), s.purpose()),
                        log(s.commit(), s.run(), s.purpose())));
            }
        }

        var running = new ArrayList<RunView>();
        if (job.status() == JobStatus.RUNNING) {
            for (var r : storedRounds) {
                if (r.attempt() == job.attemptCount()) {
                    r.running()
                            .forEach(run -> running.add(new RunView(
                                    run.commit(),
                                    run.run(),
                                    run.purpose(),
                                    r.round(),
                                    log(run.commit(), run.run(), run.purpose()))));
                }
            }
        }

        var commits = commits(steps, result, repeat);
        var outcome = result == null ? null : result.path("outcome");
        var culprit = outcome != null && "first_bad".equals(outcome.path("type").asString(null))
                ? culprit(outcome.path("commit"), payload, steps)
                : null;
        Integer candidates = result != null && result.path("candidate_count").isNumber()
                ? Integer.valueOf(result.path("candidate_count").asInt())
                : rounds.stream()
                        .filter(r -> r.round() == 1)
                        .map(RoundView::commitsLeft)
                        .findFirst()
                        .orElse(null);
        var bad = result != null
                ? result.path("bad").asString(null)
                : payload.path("bad").asString(null);
        var good = new ArrayList<String>();
        var goodNode = result != null ? result.path("good") : payload.path("good");
        if (goodNode.isArray()) goodNode.forEach(g -> good.add(g.asString()));
        else if (goodNode.isString()) good.add(goodNode.asString());
        var report = job.result() != null && job.result().path("report").isString()
                ? job.result().get("report").asString()
                : null;
        return new BisectView(
                job.id(),
                job.status(),
                bad,
                good,
                candidates,
                repeat,
                rounds,
                steps,
                running,
                commits,
                outcome,
                culprit,
                ReportHtml.render(report),
                report == null ? null : "/job/" + job.id() + "/report");
    }

    /** The ends' runs are round 0; a search run belongs to the first round that tested its commit, a confirmation to the last. */
    private static Integer roundOf(List<RoundView> rounds, String commit, String purpose) {
        if (purpose.equals("verify") || purpose.equals("merge_base")) {
            return rounds.stream().anyMatch(r -> r.round() == 0) ? 0 : null;
        }
        Integer found = null;
        for (var r : rounds) {
            if (r.round() > 0 && r.tested().contains(commit)) {
                found = r.round();
                if (purpose.equals("search")) break;
            }
        }
        return found;
    }

    private static String log(String commit, int run, String purpose) {
        try {
            return BisectHistory.stepName(commit, run, purpose);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static List<CommitView> commits(List<StepView> steps, JsonNode result, Repeat repeat) {
        var tallies = new LinkedHashMap<String, int[]>(); // passes, failures, skips, runs
        var subjects = new LinkedHashMap<String, String>();
        for (var s : steps) {
            var t = tallies.computeIfAbsent(s.commit(), c -> new int[4]);
            if (s.subject() != null) subjects.putIfAbsent(s.commit(), s.subject());
            if ("good".equals(s.verdict())) t[0]++;
            else if ("bad".equals(s.verdict())) t[1]++;
            else if ("skip".equals(s.verdict())) t[2]++;
            t[3]++;
        }
        Map<String, String> finalVerdicts = new LinkedHashMap<>();
        if (result != null) {
            for (var c : result.path("commits")) {
                finalVerdicts.put(c.path("commit").asString(), c.path("verdict").asString(null));
            }
        }
        var views = new ArrayList<CommitView>();
        tallies.forEach((commit, t) -> views.add(new CommitView(
                commit,
                subjects.get(commit),
                finalVerdicts.containsKey(commit)
                        ? finalVerdicts.get(commit)
                        : BisectHistory.verdict(t[0], t[1], t[2] > 0, repeat.runs(), repeat.rule()),
                t[0],
                t[1],
                t[2],
                t[3])));
        return views;
    }

    private static Culprit culprit(JsonNode commit, JsonNode payload, List<StepView> steps) {
        var sha = commit.path("sha").asString(null);
        if (sha == null) return null;
        var web = webUrl(payload);
        var logs = steps.stream()
                .filter(s -> s.commit().equals(sha) && s.log() != null)
                .map(StepView::log)
                .distinct()
                .toList();
        return new Culprit(
                sha,
                commit.path("subject").asString(null),
                commit.path("author").asString(null),
                commit.path("date").asString(null),
                web == null || !sha.matches("[0-9a-f]{7,64}") ? null : web + "/commit/" + sha,
                logs);
    }

    /**
     * The repository's web pages, from its https clone URL ({@code https://github.com/acme/app.git} gives
     * {@code https://github.com/acme/app}); null for other URLs and local paths. Only scheme, host and path are kept.
     */
    static String webUrl(JsonNode payload) {
        var repo = payload.path("repo").asString(null);
        if (repo == null) return null;
        try {
            var uri = new URI(repo);
            if (!"https".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null || uri.getRawPath() == null)
                return null;
            var path = uri.getRawPath().replaceAll("/+$", "").replaceAll("\\.git$", "");
            if (!path.matches("(/[A-Za-z0-9._~-]+)+")) return null;
            return "https://" + uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "") + path;
        } catch (java.net.URISyntaxException e) {
            return null;
        }
    }
}
