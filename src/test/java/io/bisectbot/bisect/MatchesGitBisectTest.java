package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.bisect.GeneratedHistory.Shape;
import io.bisectbot.git.GitRepository;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine with one slot against real {@code git bisect run} on the same generated repositories. */
class MatchesGitBisectTest {

    @TempDir
    Path tmp;

    private record Comparison(int histories, int engineRuns, int gitRuns, int onlySkipped, int maxExcess) {}

    @Test
    void finds_same_culprit_as_git_bisect_on_linear_histories() throws Exception {
        Comparison c = compare("linear", Shape.LINEAR, 10, 1, 0.0, false);
        assertThat(c.engineRuns()).isLessThanOrEqualTo(c.gitRuns());
    }

    @Test
    void finds_same_culprit_as_git_bisect_on_merge_histories() throws Exception {
        Comparison c = compare("merges", Shape.MERGES, 12, 1, 0.0, false);
        assertThat(c.engineRuns()).isLessThanOrEqualTo(c.gitRuns());
    }

    @Test
    void finds_same_culprit_as_git_bisect_on_criss_cross_merges_with_several_good_refs() throws Exception {
        Comparison c = compare("criss", Shape.CRISS_CROSS, 12, 3, 0.0, false);
        assertThat(c.engineRuns()).isLessThanOrEqualTo(c.gitRuns());
    }

    @Test
    void finds_same_answer_as_git_bisect_when_commits_are_skipped_including_only_skipped_left() throws Exception {
        Comparison c = compare("skips", Shape.MERGES, 14, 2, 0.3, false);
        assertThat(c.engineRuns()).isLessThanOrEqualTo(c.gitRuns());
        assertThat(c.onlySkipped())
                .as("histories ending with only skipped commits")
                .isPositive();
    }

    @Test
    void finds_same_culprit_as_git_bisect_with_first_parent() throws Exception {
        Comparison c = compare("first-parent", Shape.CRISS_CROSS, 8, 1, 0.1, true);
        assertThat(c.engineRuns()).isLessThanOrEqualTo(c.gitRuns());
    }

    @Test
    void finds_same_culprit_as_git_bisect_when_commit_dates_tie_or_are_skewed() throws Exception {
        Comparison tied = compare("tied", Shape.CRISS_CROSS, 4, 2, 0.2, false, GeneratedHistory.Dates.TIED);
        Comparison skewed = compare("skewed", Shape.MERGES, 4, 2, 0.2, false, GeneratedHistory.Dates.SKEWED);
        assertThat(tied.engineRuns()).isLessThanOrEqualTo(tied.gitRuns());
        assertThat(skewed.engineRuns()).isLessThanOrEqualTo(skewed.gitRuns());
    }

    private Comparison compare(
            String name, Shape shape, int histories, int maxGoods, double skipRate, boolean firstParent)
            throws Exception {
        return compare(name, shape, histories, maxGoods, skipRate, firstParent, GeneratedHistory.Dates.STRICT);
    }

    private Comparison compare(
            String name,
            Shape shape,
            int histories,
            int maxGoods,
            double skipRate,
            boolean firstParent,
            GeneratedHistory.Dates dates)
            throws Exception {
        int engineRuns = 0;
        int gitRuns = 0;
        int onlySkipped = 0;
        int maxExcess = Integer.MIN_VALUE;
        List<String> lines = new ArrayList<>();
        for (int seed = 0; seed < histories; seed++) {
            int size = 30 + (seed * 37) % 171;
            GeneratedHistory h = GeneratedHistory.create(
                    tmp.resolve(name + seed), seed * 7919L + name.hashCode(), shape, size, maxGoods, skipRate, dates);
            GeneratedHistory.GitAnswer git = h.gitBisectRun(firstParent);

            InProcessRunner runner = InProcessRunner.exitCodes(h::exitCode);
            BisectResult result = new BisectEngine(
                            new GitHistory(GitRepository.open(h.dir.resolve(".git"))), runner, StepStore.none())
                    .run(h.badSha(), h.goodShas(), BisectOptions.defaults().withFirstParent(firstParent));

            List<String> engineAnswer = switch (result.outcome()) {
                case BisectOutcome.FirstBad f -> List.of(f.commit().sha());
                case BisectOutcome.OnlySkippedLeft o ->
                    o.candidates().stream().map(CommitInfo::sha).toList();
                default -> throw new AssertionError("seed " + seed + ": " + result.outcome() + "\n" + git.output());
            };
            assertThat(new HashSet<>(engineAnswer))
                    .as("seed %d answer, git said:\n%s", seed, git.output())
                    .isEqualTo(new HashSet<>(git.firstBad()));
            assertThat(engineAnswer).as("seed %d order", seed).isEqualTo(git.firstBad());
            assertThat(result.outcome() instanceof BisectOutcome.OnlySkippedLeft)
                    .isEqualTo(git.onlySkipped());
            // One slot makes git's choices, so the counts are equal (the goal only asks for <= git + 1).
            assertThat(result.testRuns())
                    .as("seed %d runs, git said:\n%s", seed, git.output())
                    .isEqualTo(git.runs());
            assertThat(result.verificationRuns()).isEqualTo(1 + h.goods.size());
            engineRuns += result.testRuns();
            gitRuns += git.runs();
            maxExcess = Math.max(maxExcess, result.testRuns() - git.runs());
            if (git.onlySkipped()) onlySkipped++;
            lines.add(String.format(
                    "seed=%d commits=%d candidates=%d engine=%d git=%d%s",
                    seed,
                    h.shas.length,
                    result.candidateCount(),
                    result.testRuns(),
                    git.runs(),
                    git.onlySkipped() ? " only-skipped" : ""));
        }
        System.out.printf(
                "[%s] histories=%d engineRuns=%d gitRuns=%d onlySkipped=%d maxExcess=%d%n  %s%n",
                name, histories, engineRuns, gitRuns, onlySkipped, maxExcess, String.join("\n  ", lines));
        return new Comparison(histories, engineRuns, gitRuns, onlySkipped, maxExcess);
    }
}
