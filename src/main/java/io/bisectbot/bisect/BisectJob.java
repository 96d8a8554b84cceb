package io.bisectbot.bisect;

import io.bisectbot.bisect.BisectOptions.RepeatRule;
import io.bisectbot.bisect.BisectOutcome.EndCheck;
import io.bisectbot.bisect.BisectResult.CommitTested;
import io.bisectbot.bisect.BisectResult.Step;
import io.bisectbot.bisect.BisectSetupException.Problem;
import io.bisectbot.bisect.RunSlots.AbortJob;
import io.bisectbot.bisect.RunSlots.ActiveTest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * State of one bisection, phase by phase: verify the ends, test the merge bases, search round by round, confirm the
 * answer. The running steps and their resume from stored runs are {@link RunSlots}'s, the words to the user
 * {@link BisectMessages}'s. Used once, on one thread.
 */
final class BisectJob {

    private final RevisionSource source;
    private final StepStore store;
    private final BisectOptions options;
    /** Null when the job opted out of same-tree verdicts. */
    private final SameTree sameTree;

    private final Map<String, Optional<String>> trees = new HashMap<>();
    /** Runs with a verdict made (or replayed) in this job, by the tree of their commit. */
    private final Map<String, List<TreeRun>> runsByTree = new HashMap<>();

    private final List<BisectResult.SameTreeVerdict> sameTrees = new ArrayList<>();

    private record TreeRun(String commit, StepResult result, Verdict verdict) {}
    /** Set in metric mode: commits are measured and compared with the good end instead of passing or failing. */
    private final MetricOptions metric;
    /** Metric mode: every measurement of each commit in this job, in the order taken. */
    private final Map<String, List<Double>> samples = new LinkedHashMap<>();
    /** Metric mode: the good ends' measurements pooled, once the ends are verified. */
    private List<Double> baseline;
    /** Metric mode: measurements each end collects in the current verification round. */
    private int endTarget;

    private MetricSummary.Change atBadEnd;
    private final BisectProgress progress;

    private String bad;
    private List<String> goods;
    /** Every good is an ancestor of bad (one git call per good, asked once): no merge base to test first. */
    private boolean goodsBeforeBad;

    private CandidateGraph graph;
    private GitSelection selection;
    /** Verdicts in the order given; replayed to get the candidates (see {@link SearchState}). */
    private final LinkedHashMap<Integer, Verdict> marks = new LinkedHashMap<>();

    private final Set<Integer> skipped = new LinkedHashSet<>();

    private final List<Step> steps = new ArrayList<>();
    private final List<CommitTested> tested = new ArrayList<>();
    /** The tests running, and the runs an earlier attempt of this job stored. */
    private final RunSlots slots;
    /** Search steps that ended while the ends were verified; applied when the search begins. */
    private final List<ActiveTest> earlyVerdicts = new ArrayList<>();

    private boolean searchStartedBesideEnds;
    private int testRuns;
    private int verificationRuns;
    private int rounds;
    /** The last round told to {@link BisectProgress#roundEnded}, and where its verdicts end in {@link #tested}. */
    private int roundsTold;

    private int testedTold;

    BisectJob(RevisionSource source, StepRunner runner, StepStore store, BisectOptions options) {
        this(source, runner, store, options, null, null, BisectProgress.NONE);
    }

    /** Null {@code sameTree}: every commit is run; null {@code metric}: pass/fail. Metric mode measures afresh. */
    BisectJob(
            RevisionSource source,
            StepRunner runner,
            StepStore store,
            BisectOptions options,
            SameTree sameTree,
            MetricOptions metric,
            BisectProgress progress) {
        this.source = source;
        this.store = store;
        this.options = options;
        this.sameTree = metric == null ? sameTree : null;
        this.metric = metric;
        this.progress = progress;
        this.slots = new RunSlots(runner, progress, options.maxInfraRetries(), new RunSlots.Runs() {
            @Override
            public Verdict verdictOf(StepResult result) {
                return BisectJob.this.verdictOf(result);
            }

            @Override
            public void ended(ActiveTest t, int runIndex, StepResult result, Verdict v, boolean reused) {
                addStep(t, runIndex, result, v, reused);
            }

            @Override
            public void count(ActiveTest t, StepResult result, Verdict v) {
                BisectJob.this.count(t, result, v);
            }
        });
    }

    BisectResult run(String badRev, List<String> goodRevs) {
        setUp(badRev, goodRevs);
        BisectOutcome outcome;
        try {
            outcome = verifyEnds();
            if (outcome == null) outcome = checkMergeBases();
            if (outcome == null) outcome = search();
        } catch (AbortJob e) {
            outcome = new BisectOutcome.Aborted(e.getMessage());
        } finally {
            slots.cancelAll();
        }
        return new BisectResult(
                bad,
                goods,
                options,
                outcome,
                graph.size(),
                steps,
                tested,
                testRuns,
                verificationRuns,
                slots.reusedRuns(),
                slots.cancelledRuns(),
                rounds,
                sameTrees,
                metric == null ? null : metricSummary(outcome));
    }

    private void setUp(String badRev, List<String> goodRevs) {
        if (goodRevs.isEmpty()) {
            throw new BisectSetupException(Problem.EMPTY_RANGE, BisectMessages.needsGood(options.terms()));
        }
        bad = resolve(badRev);
        List<String> resolved = new ArrayList<>();
        for (String g : goodRevs) {
            String sha = resolve(g);
            if (!resolved.contains(sha)) resolved.add(sha);
        }
        goods = List.copyOf(resolved);
        for (String g : goods) {
            if (source.isAncestor(bad, g)) {
                throw new BisectSetupException(
                        Problem.BAD_NOT_AFTER_GOOD, BisectMessages.badNotAfterGood(options.terms(), bad, g, goods));
            }
        }
        goodsBeforeBad = goods.stream().allMatch(g -> source.isAncestor(g, bad));
        List<CommitInfo> commits = source.revList(bad, goods, options.firstParent());
        if (commits.isEmpty() || !commits.get(0).sha().equals(bad)) {
            throw new BisectSetupException(Problem.EMPTY_RANGE, BisectMessages.emptyRange(bad, goods));
        }
        graph = new CandidateGraph(commits, options.firstParent());
        selection = new GitSelection(graph, options.firstParent());
        slots.resumeFrom(store.load());
    }

    private String resolve(String rev) {
        return source.resolve(rev)
                .orElseThrow(
                        () -> new BisectSetupException(Problem.UNKNOWN_REVISION, BisectMessages.unknownRevision(rev)));
    }

    // ---------------------------------------------------------------- phases

    private BisectOutcome verifyEnds() {
        if (metric != null) return verifyMeasuredEnds();
        List<String> ends = new ArrayList<>();
        ends.add(bad);
        ends.addAll(goods);
        Map<String, Verdict> got = testAll(ends, Purpose.VERIFY);
        List<String> again = new ArrayList<>();
        for (String end : ends) {
            Verdict expected = end.equals(bad) ? Verdict.BAD : Verdict.GOOD;
            if (got.get(end) != expected && couldBeChance(got.get(end))) again.add(end);
        }
        // More runs under the same rule: with any-fail one failure among all of them still means bad.
        if (!again.isEmpty()) got.putAll(testAll(again, Purpose.VERIFY));
        List<EndCheck> problems = new ArrayList<>();
        if (got.get(bad) != Verdict.BAD) problems.add(new EndCheck(bad, Verdict.BAD, got.get(bad)));
        for (String g : goods) {
            if (got.get(g) != Verdict.GOOD) problems.add(new EndCheck(g, Verdict.GOOD, got.get(g)));
        }
        return problems.isEmpty()
                ? null
                : new BisectOutcome.EndsNotAsExpected(problems, BisectMessages.endsAdvice(options.terms(), problems));
    }

    /**
     * Metric mode: measures both ends, then asks whether the bad end is worse than the good end. An inconclusive
     * answer measures both ends again, twice as often, up to the cap; still inconclusive, or clearly not worse, is
     * "no significant change" and no commit is named.
     */
    private BisectOutcome verifyMeasuredEnds() {
        List<String> ends = new ArrayList<>();
        ends.add(bad);
        ends.addAll(goods);
        endTarget = metric.repeat();
        while (true) {
            Map<String, Verdict> got = testAll(ends, Purpose.VERIFY);
            List<EndCheck> problems = new ArrayList<>();
            for (String end : ends) {
                Verdict v = got.get(end);
                // A bad end that timed out (counted as bad) is a regression; anything else not measured is a problem.
                if (v == Verdict.SKIP || v == Verdict.BAD && !end.equals(bad)) {
                    problems.add(new EndCheck(end, end.equals(bad) ? Verdict.BAD : Verdict.GOOD, v));
                }
            }
            if (!problems.isEmpty()) {
                return new BisectOutcome.EndsNotAsExpected(
                        problems, BisectMessages.metricAdvice(options.terms(), metric));
            }
            baseline = new ArrayList<>();
            for (String g : goods) baseline.addAll(samples.get(g));
            if (got.get(bad) == Verdict.BAD) return null;
            MetricStats.Comparison c = MetricStats.compare(samples.get(bad), baseline, metric);
            atBadEnd = new MetricSummary.Change(
                    bad, String.join(",", goods), c.change(), c.pValue(), c.n(), c.baselineN());
            if (c.verdict() == Verdict.BAD) return null;
            if (c.verdict() == Verdict.GOOD || endTarget >= metric.maxRepeat()) {
                return new BisectOutcome.NoSignificantChange(
                        c.change(),
                        c.pValue(),
                        c.n(),
                        c.baselineN(),
                        BisectMessages.noSignificantChange(options.terms(), bad, c, metric));
            }
            endTarget = Math.min(endTarget * 2, metric.maxRepeat());
        }
    }

    /** git tests the merge bases when some good is not an ancestor of bad (check_merge_bases). */
    private BisectOutcome checkMergeBases() {
        if (goodsBeforeBad) return null;
        List<String> goodsNow = new ArrayList<>(goods);
        Set<String> skippedBases = new HashSet<>();
        boolean again = true;
        while (again) {
            again = false;
            for (String mb : source.mergeBases(bad, goodsNow)) {
                if (mb.equals(bad)) {
                    return new BisectOutcome.MergeBaseBad(mb, BisectMessages.mergeBaseBad(options.terms(), mb, goods));
                }
                if (goodsNow.contains(mb) || skippedBases.contains(mb)) continue;
                Verdict v = testAll(List.of(mb), Purpose.MERGE_BASE).get(mb);
                switch (v) {
                    case BAD -> {
                        return new BisectOutcome.MergeBaseBad(
                                mb, BisectMessages.mergeBaseBad(options.terms(), mb, goods));
                    }
                    case GOOD -> goodsNow.add(mb);
                    case SKIP -> skippedBases.add(mb);
                }
                again = true;
                break;
            }
        }
        // The merge bases are ancestors of a good, so the candidates (bad ^goods) already exclude them.
        return null;
    }

    private BisectOutcome search() {
        Set<Integer> confirmed = new HashSet<>();
        testedTold = tested.size();
        for (ActiveTest early : earlyVerdicts) apply(early);
        earlyVerdicts.clear();
        // The first round, started beside the verification of the ends, has ended with it.
        roundEnds();
        while (true) {
            SearchState state = state();
            cancelIrrelevant(state);
            GitSelection.Next next = selection.next(state, skipped);
            switch (next) {
                case GitSelection.Next.Found found -> {
                    slots.cancelAll();
                    if (!confirm(found.commit(), confirmed)) {
                        return new BisectOutcome.FirstBad(graph.commit(found.commit()));
                    }
                    continue;
                }
                case GitSelection.Next.OnlySkipped only -> {
                    slots.cancelAll();
                    return new BisectOutcome.OnlySkippedLeft(
                            only.commits().stream().map(graph::commit).toList());
                }
                case GitSelection.Next.Test test -> startSearchSteps(state, test.commit());
            }
            // Whole rounds: the next commits are picked once every step of this round that still matters has ended.
            // Steps started together end together; a commit picked between their ends is usually made irrelevant
            // (and cancelled) by the next one, which wastes a container start and a slot.
            while (slots.busy()) {
                apply(slots.await(true));
            }
            // Only ends of cancelled steps can be waiting now; they go into the step list.
            slots.await(false);
            roundEnds();
        }
    }

    /**
     * With flaky tests one wrong verdict next to the answer makes the answer wrong: under all-fail only
     * a false "bad" can happen, so the culprit is tested again; under any-fail only a false "good", so
     * its parents judged good are. Returns whether a verdict changed (the search then goes on).
     */
    private boolean confirm(int culprit, Set<Integer> confirmed) {
        if (options.repeat() < 2 || !options.confirmBoundary()) return false;
        List<Integer> targets = new ArrayList<>();
        RepeatRule rule = options.rule();
        if (rule != RepeatRule.ANY_FAIL && culprit != 0 && confirmed.add(culprit)) targets.add(culprit);
        if (rule != RepeatRule.ALL_FAIL) {
            for (int p : graph.parents(culprit)) {
                if (marks.get(p) == Verdict.GOOD && confirmed.add(p)) targets.add(p);
            }
        }
        if (targets.isEmpty()) return false;
        Map<String, Verdict> got = testAll(targets.stream().map(graph::sha).toList(), Purpose.CONFIRM);
        boolean changed = false;
        for (int t : targets) {
            Verdict v = got.get(graph.sha(t));
            if (v != Verdict.SKIP && v != marks.get(t)) {
                marks.put(t, v); // keeps its place in the replay order
                changed = true;
            }
        }
        return changed;
    }

    /** Whether a flaky test could produce this verdict by chance under the repeat rule. */
    private boolean couldBeChance(Verdict wrong) {
        if (options.repeat() < 2 || !options.confirmBoundary()) return false;
        return switch (options.rule()) {
            case ALL_FAIL -> wrong == Verdict.BAD;
            case ANY_FAIL -> wrong == Verdict.GOOD;
            case MAJORITY -> wrong != Verdict.SKIP;
        };
    }

    // ---------------------------------------------------------------- search rounds

    /**
     * Slots the end verifications leave free start the first search round at once, on the whole range: one round
     * less whenever that round's extra split point matters (with k = 7 on 1,000 commits, 4 rounds instead of 5).
     * Their verdicts count only once both ends are confirmed; if an end is wrong they are thrown away. Not when a
     * good is not an ancestor of bad: the merge bases must be tested first, as git does.
     */
    private void startSearchBesideEnds(int ends) {
        // From the number of ends, not the steps running: a resumed job replays the ends without running them and
        // must pick the same commits as before.
        int free = options.slots() - ends;
        // Metric mode compares with the good end's measurements, which are not known yet.
        if (metric != null) return;
        if (searchStartedBesideEnds || free <= 0 || !goodsBeforeBad) return;
        searchStartedBesideEnds = true;
        SearchState state = state();
        Set<Integer> unusable = new HashSet<>(skipped);
        unusable.add(state.bad);
        List<Integer> picks = Multisection.choose(
                graph, state.candidates, selection.weights(state), state.count(), List.of(), unusable, free);
        if (!picks.isEmpty()) roundStarts(state);
        for (int p : picks) begin(graph.sha(p), Purpose.SEARCH);
    }

    private void startSearchSteps(SearchState state, int gitChoice) {
        List<Integer> picks = new ArrayList<>();
        int free = options.slots() - slots.active().size();
        if (options.slots() == 1) {
            if (slots.active().isEmpty()) picks.add(gitChoice);
        } else if (free > 0) {
            Set<Integer> unusable = new HashSet<>(skipped);
            unusable.add(state.bad);
            List<Integer> running = new ArrayList<>();
            for (ActiveTest t : slots.active()) running.add(graph.indexOf(t.sha));
            unusable.addAll(running);
            picks.addAll(Multisection.choose(
                    graph, state.candidates, selection.weights(state), state.count(), running, unusable, free));
            if (picks.isEmpty() && slots.active().isEmpty()) picks.add(gitChoice);
        }
        if (!picks.isEmpty()) roundStarts(state);
        for (int p : picks) begin(graph.sha(p), Purpose.SEARCH);
    }

    private void roundStarts(SearchState state) {
        rounds++;
        progress.round(rounds, state.count(), Math.max(1, BisectProgress.roundsToGo(state.count(), options.slots())));
    }

    /** Tells the round's verdicts (search steps only: confirmations of the answer are not a round). */
    private void roundEnds() {
        if (rounds == roundsTold) return;
        roundsTold = rounds;
        List<CommitTested> inRound = new ArrayList<>();
        for (CommitTested c : tested.subList(testedTold, tested.size())) {
            if (c.purpose() == Purpose.SEARCH) inRound.add(c);
        }
        testedTold = tested.size();
        SearchState state = state();
        progress.roundEnded(new BisectProgress.Round(
                rounds, state.count(), BisectProgress.roundsToGo(state.count(), options.slots()), inRound));
    }

    private void apply(ActiveTest t) {
        int idx = graph.indexOf(t.sha);
        Verdict v = t.tally.verdict();
        tested.add(new CommitTested(info(t.sha), t.purpose, v, t.tally.passes(), t.tally.failures()));
        if (v == Verdict.SKIP) {
            skipped.add(idx);
        } else if (state().candidates.get(idx)) {
            marks.put(idx, v);
        }
        cancelIrrelevant(state());
    }

    // ---------------------------------------------------------------- runs

    private SearchState state() {
        return SearchState.replay(graph, 0, marks);
    }

    private Map<String, Verdict> testAll(List<String> commits, Purpose purpose) {
        Map<String, Verdict> got = new LinkedHashMap<>();
        ArrayDeque<String> pending = new ArrayDeque<>(commits);
        while (!pending.isEmpty() || slots.busy()) {
            while (!pending.isEmpty() && slots.active().size() < options.slots()) {
                begin(pending.poll(), purpose);
            }
            if (purpose == Purpose.VERIFY && pending.isEmpty()) startSearchBesideEnds(commits.size());
            ActiveTest t = slots.await(true);
            if (t.purpose != purpose) {
                earlyVerdicts.add(t); // a search step started beside the end verifications
                continue;
            }
            got.put(t.sha, t.tally.verdict());
            tested.add(new CommitTested(info(t.sha), purpose, t.tally.verdict(), t.tally.passes(), t.tally.failures()));
        }
        return got;
    }

    /** Starts testing a commit, first replaying runs a previous attempt of this job already stored. */
    private void begin(String sha, Purpose purpose) {
        RunTally tally = metric == null
                ? new VerdictTally(options.repeat(), options.rule())
                : new MetricTally(
                        samples.computeIfAbsent(sha, s -> new ArrayList<>()),
                        purpose == Purpose.VERIFY ? null : baseline,
                        purpose == Purpose.VERIFY ? endTarget : metric.repeat(),
                        metric);
        ActiveTest t = new ActiveTest(sha, purpose, tally);
        slots.replay(t);
        if (t.tally.verdict() == null && sameTree != null) reuseSameTree(t);
        slots.add(t);
    }

    /**
     * Gives {@code t} the verdicts of runs on commits with the same tree: this job's first, then an earlier job's.
     * Only finished runs count; a same-tree commit still running in this round is not waited for.
     */
    private void reuseSameTree(ActiveTest t) {
        String tree = treeOf(t.sha);
        if (tree == null) return;
        int used = 0;
        String from = null;
        boolean earlierJob = false;
        for (TreeRun r : List.copyOf(runsByTree.getOrDefault(tree, List.of()))) {
            if (t.tally.verdict() != null) break;
            if (r.commit().equals(t.sha)) continue;
            addSameTreeStep(t, r.result(), r.verdict());
            used++;
            from = r.commit();
        }
        while (t.tally.verdict() == null) {
            int runIndex = slots.nextRunIndex(t.sha);
            Optional<SameTree.Earlier> hit = sameTree.earlier(tree, t.sha, runIndex);
            Verdict v = hit.map(h -> verdictOf(h.result())).orElse(null);
            if (v == null) break;
            addSameTreeStep(t, hit.get().result(), v);
            used++;
            from = hit.get().commit();
            earlierJob = true;
        }
        if (used > 0) sameTrees.add(new BisectResult.SameTreeVerdict(info(t.sha), from, tree, used, earlierJob));
    }

    private void addSameTreeStep(ActiveTest t, StepResult result, Verdict v) {
        int runIndex = slots.takeRunIndex(t.sha);
        // Not stored: a resumed job replays the runs it came from and takes the same verdict again.
        steps.add(new Step(steps.size() + 1, info(t.sha), runIndex, t.purpose, result, v, result.duration(), true));
        t.tally.add(v);
    }

    private String treeOf(String sha) {
        return trees.computeIfAbsent(sha, s -> {
                    try {
                        return sameTree.tree(s);
                    } catch (RuntimeException e) {
                        // Without a tree the commit is simply tested.
                        return Optional.empty();
                    }
                })
                .orElse(null);
    }

    private void count(ActiveTest t, StepResult result, Verdict v) {
        if (metric != null && v == Verdict.GOOD) samples.get(t.sha).add(MetricTally.measurement(result, metric));
        t.tally.add(v);
    }

    private Verdict verdictOf(StepResult r) {
        if (metric != null) return measuredVerdictOf(r);
        return switch (r) {
            case StepResult.Exited(int code, Duration d, Double m) when code == 0 -> Verdict.GOOD;
            case StepResult.Exited(int code, Duration d, Double m) when code == 125 -> Verdict.SKIP;
            case StepResult.Exited(int code, Duration d, Double m) when code > 0 && code < 128 -> Verdict.BAD;
            // git bisect run aborts on these: they say the test itself broke, not the commit.
            case StepResult.Exited e -> null;
            case StepResult.TimedOut t ->
                options.timeoutVerdict() == BisectOptions.TimeoutVerdict.BAD ? Verdict.BAD : Verdict.SKIP;
            case StepResult.InfraError e -> null;
            case StepResult.Cancelled c -> null;
        };
    }

    /** Metric mode: GOOD for a run that measured a number; a run that exited without one cannot be measured. */
    private Verdict measuredVerdictOf(StepResult r) {
        return switch (r) {
            case StepResult.Exited e
            when e.exitCode() >= 0 && e.exitCode() < 128 ->
                MetricTally.measurement(e, metric) != null ? Verdict.GOOD : Verdict.SKIP;
            case StepResult.Exited e -> null;
            case StepResult.TimedOut t ->
                options.timeoutVerdict() == BisectOptions.TimeoutVerdict.BAD ? Verdict.BAD : Verdict.SKIP;
            case StepResult.InfraError e -> null;
            case StepResult.Cancelled c -> null;
        };
    }

    /** Each measured commit's sample, oldest first (the good ends, the range in history order, the bad end). */
    private MetricSummary metricSummary(BisectOutcome outcome) {
        Map<String, Verdict> verdicts = new HashMap<>();
        for (CommitTested c : tested) verdicts.put(c.commit().sha(), c.verdict());
        List<String> order = new ArrayList<>();
        for (String sha : samples.keySet()) if (graph.indexOf(sha) < 0) order.add(sha);
        samples.keySet().stream()
                .filter(sha -> graph.indexOf(sha) >= 0)
                .sorted((a, b) -> Integer.compare(graph.indexOf(b), graph.indexOf(a)))
                .forEach(order::add);
        List<MetricSummary.CommitSample> commits = new ArrayList<>();
        for (String sha : order) {
            List<Double> values = samples.get(sha);
            if (values.isEmpty()) continue;
            MetricStats.Summary s = MetricStats.summary(values);
            boolean good = goods.contains(sha);
            Double change = null;
            Double p = null;
            if (!good && baseline != null && !baseline.isEmpty()) {
                MetricStats.Comparison c = MetricStats.compare(values, baseline, metric);
                change = c.change();
                p = c.pValue();
            }
            String role = good ? "good" : sha.equals(bad) ? "bad" : "tested";
            commits.add(new MetricSummary.CommitSample(
                    info(sha),
                    role,
                    values,
                    s.median(),
                    s.q1(),
                    s.q3(),
                    s.min(),
                    s.max(),
                    good || sha.equals(bad) ? null : verdicts.get(sha),
                    change,
                    p));
        }
        MetricSummary.Change atCulprit = null;
        if (outcome instanceof BisectOutcome.FirstBad first
                && samples.containsKey(first.commit().sha())) {
            String culprit = first.commit().sha();
            // Against the parent judged good when it was measured, else against the good end.
            String against = null;
            List<Double> reference = baseline;
            for (String parent : first.commit().parents()) {
                List<Double> ps = samples.get(parent);
                if (ps != null && !ps.isEmpty()) {
                    against = parent;
                    reference = ps;
                    break;
                }
            }
            if (against == null) against = String.join(",", goods);
            List<Double> values = samples.get(culprit);
            if (reference != null && !reference.isEmpty() && !values.isEmpty()) {
                atCulprit = new MetricSummary.Change(
                        culprit,
                        against,
                        MetricStats.change(values, reference, metric.direction()),
                        MetricStats.pWorse(values, reference, metric.direction()),
                        values.size(),
                        reference.size());
            }
        }
        return new MetricSummary(metric, commits, atBadEnd, atCulprit);
    }

    private void addStep(ActiveTest t, int runIndex, StepResult result, Verdict v, boolean reused) {
        steps.add(new Step(steps.size() + 1, info(t.sha), runIndex, t.purpose, result, v, result.duration(), reused));
        // Runs that said something about the commit; cancelled runs and infrastructure errors are not test runs.
        if (v != null) {
            if (t.purpose == Purpose.VERIFY) verificationRuns++;
            else testRuns++;
        }
        if (!reused) store.record(new StepStore.Run(t.sha, runIndex, t.purpose, result, v, result.duration()));
        if (v != null && sameTree != null) {
            String tree = treeOf(t.sha);
            if (tree != null)
                runsByTree.computeIfAbsent(tree, k -> new ArrayList<>()).add(new TreeRun(t.sha, result, v));
        }
    }

    private void cancelIrrelevant(SearchState state) {
        for (ActiveTest t : List.copyOf(slots.active())) {
            if (t.purpose == Purpose.SEARCH && !state.candidates.get(graph.indexOf(t.sha))) slots.cancel(t);
        }
    }

    private final Map<String, CommitInfo> outside = new HashMap<>();

    private CommitInfo info(String sha) {
        int i = graph == null ? -1 : graph.indexOf(sha);
        if (i >= 0) return graph.commit(i);
        return outside.computeIfAbsent(sha, s -> source.describe(s).orElse(new CommitInfo(s, List.of(), "", "", null)));
    }
}
