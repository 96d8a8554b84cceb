package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.bisect.GeneratedHistory.Git;
import io.bisectbot.git.GitRepository;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reverts and empty merges leave trees that were tested already: their verdicts are reused, the answer is git's. */
class SameTreeVerdictTest {

    @TempDir
    Path dir;

    private void commit(String message, String flag, String state, String version) throws Exception {
        if (flag == null) {
            Files.deleteIfExists(dir.resolve("flag"));
        } else {
            Files.writeString(dir.resolve("flag"), flag);
        }
        Files.writeString(dir.resolve("state"), state + "\n");
        Files.writeString(dir.resolve("version"), version + "\n");
        Git.run(dir, "add", "-A");
        Git.run(dir, "commit", "-q", "--allow-empty", "-m", message);
    }

    /**
     * Good base, then a feature flag switched on and reverted several times (each revert has the tree of the commit
     * before the switch), an empty merge, and later a change that breaks the test.
     */
    private void history() throws Exception {
        Git.run(dir, "init", "-q", "-b", "main");
        Files.writeString(dir.resolve("test.sh"), GeneratedHistory.SCRIPT);
        commit("base", null, "good", "v0");
        for (int i = 1; i <= 6; i++) {
            commit(
                    i % 2 == 1 ? "switch the flag on" : "Revert \"switch the flag on\"",
                    i % 2 == 1 ? "on" : null,
                    "good",
                    "v0");
        }
        Git.run(dir, "checkout", "-q", "-b", "side");
        Git.run(dir, "commit", "-q", "--allow-empty", "-m", "nothing on the side");
        Git.run(dir, "checkout", "-q", "main");
        Git.run(dir, "merge", "-q", "--no-ff", "-m", "empty merge", "side");
        for (int i = 1; i <= 4; i++) {
            commit("flag on again", "on", "good", "v0");
            commit("Revert \"flag on again\"", null, "good", "v0");
        }
        commit("break it", null, "bad", "v1");
        commit("after", null, "bad", "v2");
        for (int i = 1; i <= 3; i++) {
            commit("flag on late", "on", "bad", "v2");
            commit("Revert \"flag on late\"", null, "bad", "v2");
        }
    }

    private int exitCode(String sha) {
        return Git.run(dir, "show", sha + ":state").strip().equals("good") ? 0 : 1;
    }

    private record GitAnswer(String culprit, int runs) {}

    private GitAnswer gitBisectRun(String bad, String good) throws Exception {
        var counter = dir.resolveSibling(dir.getFileName() + "-runs");
        Git.run(dir, "bisect", "start", bad, good);
        var out = Git.exec(
                dir, Map.of("BISECT_COUNTER", counter.toString()), null, false, "bisect", "run", "sh", "test.sh");
        Git.run(dir, "bisect", "reset");
        var m = Pattern.compile("([0-9a-f]{40}) is the first bad commit").matcher(out);
        assertThat(m.find()).as(out).isTrue();
        return new GitAnswer(m.group(1), Files.readAllLines(counter).size());
    }

    @Test
    void reverts_and_an_empty_merge_take_the_verdict_of_their_tree_with_fewer_runs_and_git_s_culprit()
            throws Exception {
        history();
        var bad = Git.run(dir, "rev-parse", "HEAD").strip();
        var good = Git.run(dir, "rev-list", "--max-parents=0", "HEAD").strip();
        var git = gitBisectRun(bad, good);
        var repo = new GitHistory(GitRepository.open(dir.resolve(".git")));

        var plainRunner = InProcessRunner.exitCodes(this::exitCode);
        var plain = new BisectEngine(repo, plainRunner, StepStore.none())
                .run(bad, List.of(good), BisectOptions.defaults(), false);
        var runner = InProcessRunner.exitCodes(this::exitCode);
        var reused = new BisectEngine(repo, runner, StepStore.none())
                .run(bad, List.of(good), BisectOptions.defaults(), true);

        assertThat(((BisectOutcome.FirstBad) plain.outcome()).commit().sha()).isEqualTo(git.culprit());
        assertThat(((BisectOutcome.FirstBad) reused.outcome()).commit().sha()).isEqualTo(git.culprit());
        assertThat(plain.testRuns()).isEqualTo(git.runs());
        assertThat(reused.testRuns()).isLessThan(git.runs());
        assertThat(runner.started).hasSize(reused.testRuns() + reused.verificationRuns());
        assertThat(reused.sameTrees()).isNotEmpty().allSatisfy(t -> {
            assertThat(repo.tree(t.commit().sha())).contains(t.tree());
            assertThat(repo.tree(t.sameTreeAs())).contains(t.tree());
            assertThat(t.earlierJob()).isFalse();
        });
        var first = reused.sameTrees().getFirst();
        assertThat(BisectReport.markdown(reused, dir.toString(), "sh test.sh"))
                .contains("Verdicts reused by tree")
                .contains("same tree as `" + first.sameTreeAs().substring(0, 12) + "`")
                .contains(reused.sameTreeRuns() + " taken from commits with the same tree");
        System.out.printf(
                "git runs=%d, engine runs without tree reuse=%d, with=%d (%d reused)%n",
                git.runs(), plain.testRuns(), reused.testRuns(), reused.sameTreeRuns());
    }

    @Test
    void without_tree_reuse_every_commit_is_run() throws Exception {
        history();
        var bad = Git.run(dir, "rev-parse", "HEAD").strip();
        var good = Git.run(dir, "rev-list", "--max-parents=0", "HEAD").strip();
        var result = new BisectEngine(
                        new GitHistory(GitRepository.open(dir.resolve(".git"))),
                        InProcessRunner.exitCodes(this::exitCode),
                        StepStore.none())
                .run(bad, List.of(good), BisectOptions.defaults(), false);

        assertThat(result.sameTrees()).isEmpty();
        assertThat(result.steps()).noneMatch(BisectResult.Step::reused);
    }
}
