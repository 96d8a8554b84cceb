package io.bisectbot.bisect;

import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Renders a {@link BisectResult} as Markdown for a pull request or issue comment, or as text for a terminal. */
public final class BisectReport {

    private static final Pattern GITHUB = Pattern.compile(
            "^(?:https?://(?:[^@/]+@)?github\\.com/|git@github\\.com:|ssh://git@github\\.com/)([^/]+)/([^/]+?)(?:\\.git)?/?$");
    private static final DateTimeFormatter DATE =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'").withZone(ZoneOffset.UTC);

    private BisectReport() {}

    /**
     * @param repositoryUrl clone URL; GitHub URLs get commit and compare links
     * @param command       the test command as the user would type it
     */
    public static String markdown(BisectResult result, String repositoryUrl, String command) {
        Optional<String> web = githubWebUrl(repositoryUrl);
        BisectOptions.Terms terms = result.options().terms();
        StringBuilder md = new StringBuilder();
        switch (result.outcome()) {
            case BisectOutcome.FirstBad f -> {
                CommitInfo c = f.commit();
                md.append("## First ")
                        .append(terms.bad())
                        .append(" commit: ")
                        .append(link(web, c.sha()))
                        .append(' ')
                        .append(escape(c.subject()))
                        .append("\n\n");
                md.append("- **Author:** ").append(escape(c.author()));
                if (c.date() != null) md.append(", ").append(DATE.format(c.date()));
                md.append('\n');
                String lastGood = c.parents().isEmpty()
                        ? result.goods().get(0)
                        : c.parents().get(0);
                md.append("- **Compare:** ");
                if (web.isPresent()) {
                    md.append('[')
                            .append(shortSha(lastGood))
                            .append("...")
                            .append(shortSha(c.sha()))
                            .append("](")
                            .append(web.get())
                            .append("/compare/")
                            .append(lastGood)
                            .append("...")
                            .append(c.sha())
                            .append(')');
                } else {
                    md.append('`')
                            .append(lastGood)
                            .append("...")
                            .append(c.sha())
                            .append('`');
                }
                md.append(" (last ")
                        .append(terms.good())
                        .append(" ... first ")
                        .append(terms.bad())
                        .append(")\n");
            }
            case BisectOutcome.OnlySkippedLeft o -> {
                md.append("## No single culprit: only skipped commits are left\n\n")
                        .append("There are only 'skip'ped commits left to test. The first ")
                        .append(terms.bad())
                        .append(" commit could be any of:\n\n");
                for (CommitInfo c : o.candidates()) {
                    md.append("- ")
                            .append(link(web, c.sha()))
                            .append(' ')
                            .append(escape(c.subject()))
                            .append('\n');
                }
            }
            case BisectOutcome.EndsNotAsExpected e -> {
                md.append("## The given ends do not behave as stated\n\n");
                for (BisectOutcome.EndCheck p : e.problems()) {
                    md.append("- ")
                            .append(link(web, p.commit()))
                            .append(" should be ")
                            .append(word(p.expected(), terms))
                            .append(" but the test says ")
                            .append(p.actual() == null ? "nothing" : word(p.actual(), terms))
                            .append('\n');
                }
                md.append('\n').append(escape(e.advice())).append('\n');
            }
            case BisectOutcome.MergeBaseBad m ->
                md.append("## The merge base is ")
                        .append(terms.bad())
                        .append("\n\n")
                        .append(escape(m.message()))
                        .append('\n');
            case BisectOutcome.Aborted a ->
                md.append("## Bisection stopped\n\n")
                        .append(escape(a.reason()))
                        .append("\n\nRuns already made are kept; restarting the job does not repeat them.\n");
            case BisectOutcome.NoSignificantChange n ->
                md.append("## No significant change\n\n")
                        .append(escape(n.message()))
                        .append('\n');
        }
        if (result.metric() != null) md.append(metricMarkdown(result.metric(), web, terms));

        md.append("\n**Range searched:** ")
                .append(result.goods().stream().map(g -> link(web, g)).collect(Collectors.joining(", ")))
                .append(" (")
                .append(terms.good())
                .append(") .. ")
                .append(link(web, result.bad()))
                .append(" (")
                .append(terms.bad())
                .append("): ")
                .append(result.candidateCount())
                .append(result.candidateCount() == 1 ? " commit" : " commits");
        if (result.options().firstParent()) md.append(", first parents only");
        md.append("  \n**Test runs:** ")
                .append(result.testRuns())
                .append(" in ")
                .append(result.rounds())
                .append(result.rounds() == 1 ? " round" : " rounds")
                .append(" with ")
                .append(result.options().slots())
                .append(result.options().slots() == 1 ? " slot" : " slots");
        if (result.options().repeat() > 1) {
            md.append(", ")
                    .append(result.options().repeat())
                    .append(" runs per commit (")
                    .append(result.options().rule().name().toLowerCase().replace('_', '-'))
                    .append(')');
        }
        md.append("; plus ").append(result.verificationRuns()).append(" to verify the ends");
        if (result.cancelledRuns() > 0)
            md.append("; ").append(result.cancelledRuns()).append(" cancelled as irrelevant");
        if (result.reusedRuns() > 0)
            md.append("; ").append(result.reusedRuns()).append(" reused from before a restart");
        if (!result.sameTrees().isEmpty()) {
            md.append("; ").append(result.sameTreeRuns()).append(" taken from commits with the same tree");
        }
        if (!result.sameTrees().isEmpty()) {
            md.append("\n\n**Verdicts reused by tree** (same files, same image and command):\n");
            for (BisectResult.SameTreeVerdict t : result.sameTrees()) {
                md.append("\n- ")
                        .append(link(web, t.commit().sha()))
                        .append(": same tree as ")
                        .append(link(web, t.sameTreeAs()))
                        .append(t.earlierJob() ? " (tested by an earlier job)" : "")
                        .append(", ")
                        .append(t.runs())
                        .append(t.runs() == 1 ? " run" : " runs")
                        .append(" not made");
            }
        }
        md.append("\n\n### Reproduce locally\n\n```sh\n")
                .append(reproduce(result, command))
                .append("\n```\n");

        md.append("\n<details><summary>Steps (")
                .append(result.steps().size())
                .append(" runs)</summary>\n\n")
                .append("| # | Commit | Subject | Purpose | Run | Result | Verdict | Duration |\n")
                .append("|---|---|---|---|---|---|---|---|\n");
        for (BisectResult.Step s : result.steps()) {
            md.append("| ")
                    .append(s.seq())
                    .append(" | ")
                    .append(link(web, s.commit().sha()))
                    .append(" | ")
                    .append(escape(s.commit().subject()))
                    .append(" | ")
                    .append(s.purpose().name().toLowerCase().replace('_', ' '))
                    .append(" | ")
                    .append(s.runIndex() + 1)
                    .append(" | ")
                    .append(escape(describe(s.result())))
                    .append(
                            s.reused()
                                    ? sameTreeAs(result, s)
                                            .map(from -> " (same tree as " + shortSha(from) + ")")
                                            .orElse(" (stored)")
                                    : "")
                    .append(" | ")
                    .append(s.verdict() == null ? "-" : word(s.verdict(), terms))
                    .append(" | ")
                    .append(human(s.duration()))
                    .append(" |\n");
        }
        List<BisectResult.CommitTested> flaky =
                result.commits().stream().filter(c -> c.disagreements() > 0).toList();
        if (!flaky.isEmpty()) {
            md.append("\nRuns that disagreed (flaky test):\n\n");
            for (BisectResult.CommitTested c : flaky) {
                md.append("- ")
                        .append(link(web, c.commit().sha()))
                        .append(": ")
                        .append(c.failures())
                        .append(" failed, ")
                        .append(c.passes())
                        .append(" passed, counted as ")
                        .append(word(c.verdict(), terms))
                        .append('\n');
            }
        }
        md.append("\n</details>\n");
        return md.toString();
    }

    /**
     * The report for a person at a terminal: the culprit with its full sha first, no Markdown or HTML entities,
     * bold headings when {@code colour}.
     *
     * @param dockerLine one step's exact container run, or null
     */
    public static String terminal(BisectResult result, String command, String dockerLine, boolean colour) {
        return terminal(result, command, dockerLine, "", colour);
    }

    /** @param environment what the steps could reach beyond their files ({@link #environmentTerminal}), or empty */
    public static String terminal(
            BisectResult result, String command, String dockerLine, String environment, boolean colour) {
        BisectOptions.Terms terms = result.options().terms();
        String bold = colour ? "\u001b[1m" : "";
        String red = colour ? "\u001b[1;31m" : "";
        String reset = colour ? "\u001b[0m" : "";
        StringBuilder out = new StringBuilder();
        switch (result.outcome()) {
            case BisectOutcome.FirstBad f -> {
                CommitInfo c = f.commit();
                out.append(red)
                        .append("First ")
                        .append(terms.bad())
                        .append(" commit: ")
                        .append(c.sha())
                        .append(reset)
                        .append('\n')
                        .append("  ")
                        .append(oneLine(c.subject()))
                        .append('\n')
                        .append("  Author: ")
                        .append(oneLine(c.author()));
                if (c.date() != null) out.append(", ").append(DATE.format(c.date()));
                String lastGood = c.parents().isEmpty()
                        ? result.goods().get(0)
                        : c.parents().get(0);
                out.append("\n  Last ")
                        .append(terms.good())
                        .append(": ")
                        .append(lastGood)
                        .append('\n');
            }
            case BisectOutcome.OnlySkippedLeft o -> {
                out.append(bold)
                        .append("No single culprit: only skipped commits are left.")
                        .append(reset)
                        .append(" The first ")
                        .append(terms.bad())
                        .append(" commit is one of:\n");
                for (CommitInfo c : o.candidates()) {
                    out.append("  ")
                            .append(c.sha())
                            .append(' ')
                            .append(oneLine(c.subject()))
                            .append('\n');
                }
            }
            case BisectOutcome.EndsNotAsExpected e -> {
                out.append(bold)
                        .append("The given ends do not behave as stated:")
                        .append(reset)
                        .append('\n');
                for (BisectOutcome.EndCheck p : e.problems()) {
                    out.append("  ")
                            .append(p.commit())
                            .append(" should be ")
                            .append(word(p.expected(), terms))
                            .append(" but the test says ")
                            .append(p.actual() == null ? "nothing" : word(p.actual(), terms))
                            .append('\n');
                }
                out.append(oneLine(e.advice())).append('\n');
            }
            case BisectOutcome.MergeBaseBad m ->
                out.append(bold)
                        .append("The merge base is ")
                        .append(terms.bad())
                        .append('.')
                        .append(reset)
                        .append(' ')
                        .append(oneLine(m.message()))
                        .append('\n');
            case BisectOutcome.Aborted a ->
                out.append(bold)
                        .append("Bisection stopped: ")
                        .append(reset)
                        .append(oneLine(a.reason()))
                        .append('\n');
            case BisectOutcome.NoSignificantChange n ->
                out.append(bold)
                        .append("No significant change.")
                        .append(reset)
                        .append(' ')
                        .append(oneLine(n.message()))
                        .append('\n');
        }
        if (result.metric() != null) out.append(metricTerminal(result.metric(), bold, reset));
        out.append('\n')
                .append("Range searched: ")
                .append(result.candidateCount())
                .append(result.candidateCount() == 1 ? " commit" : " commits")
                .append(", ")
                .append(result.testRuns())
                .append(" test runs in ")
                .append(result.rounds())
                .append(result.rounds() == 1 ? " round" : " rounds")
                .append(", plus ")
                .append(result.verificationRuns())
                .append(" to verify the ends\n");
        for (BisectResult.SameTreeVerdict t : result.sameTrees()) {
            out.append("Reused: ")
                    .append(shortSha(t.commit().sha()))
                    .append(" same tree as ")
                    .append(shortSha(t.sameTreeAs()))
                    .append(t.earlierJob() ? " (an earlier job)" : "")
                    .append(", ")
                    .append(t.runs())
                    .append(t.runs() == 1 ? " run" : " runs")
                    .append(" not made\n");
        }
        out.append(environment);
        out.append('\n')
                .append(bold)
                .append("Reproduce with git on this machine:")
                .append(reset)
                .append("\n  ")
                .append(reproduce(result, command))
                .append('\n');
        if (dockerLine != null) {
            out.append(bold)
                    .append("Reproduce one step in the same container:")
                    .append(reset)
                    .append("\n  ")
                    .append(dockerLine)
                    .append('\n');
        }
        out.append('\n').append(bold).append("Steps:").append(reset).append('\n');
        for (BisectResult.Step s : result.steps()) {
            out.append(String.format(
                    "  %3d %-12s %s run %d: %s, %s, %s%n",
                    s.seq(),
                    s.purpose().name().toLowerCase().replace('_', ' '),
                    shortSha(s.commit().sha()),
                    s.runIndex() + 1,
                    describe(s.result()),
                    s.verdict() == null ? "no verdict" : word(s.verdict(), terms),
                    human(s.duration())));
        }
        return out.toString();
    }

    private static String metricHeading(MetricOptions o) {
        return (o.source() == MetricOptions.Source.WALL
                        ? "wall time in seconds"
                        : "the last number printed on standard output")
                + ", " + o.direction().word()
                + "; a commit is bad when its median is worse than the good end's by at least "
                + MetricStats.percent(o.threshold()).replace("+", "")
                + " and a one-sided Mann-Whitney U test gives p < "
                + o.alpha() + "; " + o.repeat() + " runs per commit, up to " + o.maxRepeat() + " when inconclusive";
    }

    private static String regression(MetricSummary.Change c) {
        return MetricStats.percent(c.change()) + " (median), p = " + MetricStats.pText(c.pValue()) + ", confidence "
                + String.format(java.util.Locale.ROOT, "%.1f %%", c.confidence() * 100) + ", " + c.n() + " against "
                + c.againstN() + " runs";
    }

    private static String metricMarkdown(MetricSummary m, Optional<String> web, BisectOptions.Terms terms) {
        StringBuilder md = new StringBuilder("\n### Measurements\n\n")
                .append(escape(metricHeading(m.options())))
                .append(".\n\n");
        if (m.atCulprit() != null) {
            md.append("- **Regression at the culprit:** ")
                    .append(escape(regression(m.atCulprit())))
                    .append(" against ")
                    .append(againstLink(web, m.atCulprit().against()))
                    .append('\n');
        }
        if (m.atBadEnd() != null) {
            md.append("- **")
                    .append(capitalise(terms.bad()))
                    .append(" end against ")
                    .append(terms.good())
                    .append(" end:** ")
                    .append(escape(regression(m.atBadEnd())))
                    .append('\n');
        }
        md.append("- **Chart:** [chart.svg](chart.svg) (next to this report: `/job/{id}/chart.svg`)\n\n");
        md.append("| Commit | Subject | Role | n | Median | IQR | Min–max | Change | p | Verdict |\n")
                .append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (MetricSummary.CommitSample c : m.commits()) {
            md.append("| ")
                    .append(link(web, c.commit().sha()))
                    .append(" | ")
                    .append(escape(c.commit().subject()))
                    .append(" | ")
                    .append(c.role())
                    .append(" | ")
                    .append(c.n())
                    .append(" | ")
                    .append(MetricChart.number(c.median()))
                    .append(" | ")
                    .append(MetricChart.number(c.q1()))
                    .append("–")
                    .append(MetricChart.number(c.q3()))
                    .append(" | ")
                    .append(MetricChart.number(c.min()))
                    .append("–")
                    .append(MetricChart.number(c.max()))
                    .append(" | ")
                    .append(c.change() == null ? "-" : MetricStats.percent(c.change()))
                    .append(" | ")
                    .append(c.pValue() == null ? "-" : MetricStats.pText(c.pValue()))
                    .append(" | ")
                    .append(c.verdict() == null ? "-" : word(c.verdict(), terms))
                    .append(" |\n");
        }
        return md.toString();
    }

    private static String metricTerminal(MetricSummary m, String bold, String reset) {
        StringBuilder out = new StringBuilder("\n")
                .append(bold)
                .append("Measurements")
                .append(reset)
                .append(": ")
                .append(metricHeading(m.options()))
                .append('\n');
        if (m.atCulprit() != null) {
            out.append("  Regression at the culprit: ")
                    .append(regression(m.atCulprit()))
                    .append(" against ")
                    .append(m.atCulprit().against())
                    .append('\n');
        }
        if (m.atBadEnd() != null)
            out.append("  Bad end against good end: ")
                    .append(regression(m.atBadEnd()))
                    .append('\n');
        for (MetricSummary.CommitSample c : m.commits()) {
            out.append(String.format(
                    java.util.Locale.ROOT,
                    "  %-12s %-6s n=%-3d median %-10s IQR %s-%s  range %s-%s%s%n",
                    shortSha(c.commit().sha()),
                    c.role(),
                    c.n(),
                    MetricChart.number(c.median()),
                    MetricChart.number(c.q1()),
                    MetricChart.number(c.q3()),
                    MetricChart.number(c.min()),
                    MetricChart.number(c.max()),
                    c.change() == null
                            ? ""
                            : "  " + MetricStats.percent(c.change()) + " p=" + MetricStats.pText(c.pValue())
                                    + (c.verdict() == null
                                            ? ""
                                            : " " + c.verdict().name().toLowerCase(java.util.Locale.ROOT))));
        }
        return out.toString();
    }

    private static String againstLink(Optional<String> web, String against) {
        return against.contains(",")
                ? Arrays.stream(against.split(",")).map(g -> link(web, g)).collect(Collectors.joining(", "))
                : link(web, against);
    }

    private static String capitalise(String word) {
        return word.isEmpty() ? word : Character.toUpperCase(word.charAt(0)) + word.substring(1);
    }

    /**
     * One step of the bisection as the executor runs it: the commit's files in the working directory, the image,
     * user, limits, the network it had (none unless the job had the bridge) and the job's cache volumes at their paths.
     */
    static String dockerReproduce(
            String commit,
            String image,
            List<String> argv,
            String user,
            long memoryBytes,
            double cpus,
            long pids,
            long tmpBytes,
            String workingDir) {
        return dockerReproduce(
                commit,
                image,
                argv,
                user,
                memoryBytes,
                cpus,
                pids,
                tmpBytes,
                workingDir,
                List.of(),
                io.bisectbot.executor.StepSpec.Network.NONE);
    }

    static String dockerReproduce(
            String commit,
            String image,
            List<String> argv,
            String user,
            long memoryBytes,
            double cpus,
            long pids,
            long tmpBytes,
            String workingDir,
            List<io.bisectbot.executor.StepSpec.Cache> caches,
            io.bisectbot.executor.StepSpec.Network network) {
        String limits = "--memory " + memoryBytes + " --memory-swap " + memoryBytes + " --cpus " + cpus
                + " --pids-limit " + pids;
        String mounts = caches.stream()
                .map(c -> " -v " + ShellWords.quote(c.volume() + ":" + c.path()))
                .collect(Collectors.joining());
        String networkMode = network == io.bisectbot.executor.StepSpec.Network.BRIDGE ? "bridge" : "none";
        return "dir=$(mktemp -d) && chmod a+rwx \"$dir\" && git archive " + ShellWords.quote(commit)
                + " | tar -x -C \"$dir\" && docker run --rm --init --network " + networkMode
                + " --read-only --cap-drop ALL"
                + " --security-opt no-new-privileges --tmpfs /tmp:rw,nosuid,nodev,size=" + tmpBytes + " " + limits
                + " --user " + ShellWords.quote(user) + " -e BISECT_COMMIT=" + ShellWords.quote(commit)
                + " -e BISECT_RUN=1 -v \"$dir\":" + ShellWords.quote(workingDir) + mounts + " -w "
                + ShellWords.quote(workingDir)
                + " " + ShellWords.quote(image) + " " + ShellWords.join(argv);
    }

    /** {@link #environment} for a terminal: plain lines, empty when the steps had neither network nor caches. */
    public static String environmentTerminal(BisectRequest request) {
        StringBuilder out = new StringBuilder();
        if (request.network() == io.bisectbot.executor.StepSpec.Network.BRIDGE) {
            out.append("Network: every step had network (network: bridge).\n");
        } else if (request.caching().bridgeNetwork()) {
            out.append("Network: none: network: bridge was asked for, but the code is not trusted")
                    .append(whyUntrusted(request))
                    .append(".\n");
        }
        if (!request.caching().paths().isEmpty()) {
            out.append("Caches kept between steps: ")
                    .append(String.join(", ", request.caching().paths()))
                    .append(
                            request.registryCredentials()
                                    ? ""
                                    : " (this untrusted run's own, apart from trusted runs')")
                    .append(".\n");
        }
        return out.toString();
    }

    /** The commit whose run a reused step is, when it was taken by tree rather than from the job's store. */
    static Optional<String> sameTreeAs(BisectResult result, BisectResult.Step step) {
        if (!step.reused()) return Optional.empty();
        return result.sameTrees().stream()
                .filter(t -> t.commit().sha().equals(step.commit().sha()))
                .map(BisectResult.SameTreeVerdict::sameTreeAs)
                .findFirst();
    }

    /**
     * What the steps could reach beyond their fresh working copy: the network (trusted jobs that asked for it) and
     * the dependency caches; empty when neither.
     */
    public static String environment(BisectRequest request) {
        StringBuilder md = new StringBuilder();
        if (request.network() == io.bisectbot.executor.StepSpec.Network.BRIDGE) {
            md.append("\n**Network:** every step had network (`network: bridge`).\n");
        } else if (request.caching().bridgeNetwork()) {
            md.append("\n**Network:** none: `network: bridge` was asked for, but the code is not trusted")
                    .append(whyUntrusted(request))
                    .append(".\n");
        }
        if (!request.caching().paths().isEmpty()) {
            md.append("\n**Caches kept between steps:** ")
                    .append(request.caching().paths().stream()
                            .map(p -> "`" + p + "`")
                            .collect(Collectors.joining(", ")))
                    .append(
                            request.registryCredentials()
                                    ? ""
                                    : " (this untrusted run's own, apart from trusted runs')")
                    .append(".\n");
        }
        return md.toString();
    }

    /** Why a GitHub-started run is not trusted ({@code github.trust_reason}), in parentheses; empty when not told. */
    private static String whyUntrusted(BisectRequest request) {
        var reason = request.github() == null
                ? ""
                : oneLine(request.github().path("trust_reason").asString(""));
        return reason.isBlank() ? "" : " (" + reason + ")";
    }

    private static String oneLine(String text) {
        return text == null ? "" : text.replace("\r", " ").replace("\n", " ");
    }

    static Optional<String> githubWebUrl(String url) {
        if (url == null) return Optional.empty();
        Matcher m = GITHUB.matcher(url.trim());
        return m.matches() ? Optional.of("https://github.com/" + m.group(1) + "/" + m.group(2)) : Optional.empty();
    }

    static String reproduce(BisectResult result, String command) {
        StringBuilder sb = new StringBuilder("git bisect start");
        if (result.options().terms() == BisectOptions.Terms.OLD_NEW) sb.append(" --term-old=old --term-new=new");
        if (result.options().firstParent()) sb.append(" --first-parent");
        sb.append(' ').append(result.bad());
        for (String g : result.goods()) sb.append(' ').append(g);
        sb.append(" && git bisect run ").append(command);
        return sb.toString();
    }

    private static String word(Verdict v, BisectOptions.Terms terms) {
        return switch (v) {
            case GOOD -> terms.good();
            case BAD -> terms.bad();
            case SKIP -> "skip";
        };
    }

    private static String describe(StepResult r) {
        return switch (r) {
            case StepResult.Exited e -> "exit " + e.exitCode();
            case StepResult.TimedOut t -> "timed out";
            case StepResult.InfraError e -> "infrastructure error: " + e.message();
            case StepResult.Cancelled c -> "cancelled";
        };
    }

    private static String link(Optional<String> web, String sha) {
        return web.map(w -> "[`" + shortSha(sha) + "`](" + w + "/commit/" + sha + ")")
                .orElse("`" + shortSha(sha) + "`");
    }

    private static String shortSha(String sha) {
        return sha.substring(0, Math.min(12, sha.length()));
    }

    static String human(Duration d) {
        if (d == null) return "-";
        long ms = d.toMillis();
        if (ms < 1000) return ms + " ms";
        long s = d.toSeconds();
        if (s < 60) return String.format("%.1f s", ms / 1000.0);
        return (s / 60) + " min " + (s % 60) + " s";
    }

    /** Keeps subjects and messages from breaking the table or injecting markup. */
    private static String escape(String text) {
        if (text == null) return "";
        return text.replace("\\", "\\\\")
                .replace("|", "\\|")
                .replace("<", "&lt;")
                .replace(">", "&gt;")
                .replace("\r", " ")
                .replace("\n", " ");
    }
}
