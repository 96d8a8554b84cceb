package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.bisectbot.bisect.GeneratedHistory.Shape;
import io.bisectbot.git.GitRepository;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine on a real repository, and what a failing git command becomes for a bisect job. */
class GitHistoryTest {

    @TempDir
    Path tmp;

    @Test
    void rejects_unknown_refs_and_reversed_ends_in_a_real_repository() throws IOException {
        GeneratedHistory h = GeneratedHistory.create(tmp.resolve("src"), 5, Shape.LINEAR, 10, 1, 0);
        BisectEngine engine = new BisectEngine(
                new GitHistory(GitRepository.open(h.dir.resolve(".git"))),
                InProcessRunner.exitCodes(h::exitCode),
                StepStore.none());
        assertThatThrownBy(() -> engine.run("v9.9", List.of(h.shas[0]), BisectOptions.defaults()))
                .hasMessageContaining("'v9.9' does not appear to be a valid revision");
        assertThatThrownBy(() -> engine.run(h.shas[1], List.of(h.shas[5]), BisectOptions.defaults()))
                .isInstanceOfSatisfying(
                        BisectSetupException.class,
                        e -> assertThat(e.problem()).isEqualTo(BisectSetupException.Problem.BAD_NOT_AFTER_GOOD));
    }

    @Test
    void a_failing_git_command_is_a_git_failure_of_the_setup_in_git_s_words() throws IOException {
        var notARepository = Files.createDirectories(tmp.resolve("empty"));
        var history = new GitHistory(GitRepository.open(notARepository));
        assertThatThrownBy(() -> history.revList("main", List.of(), false))
                .isInstanceOfSatisfying(BisectSetupException.class, e -> {
                    assertThat(e.problem()).isEqualTo(BisectSetupException.Problem.GIT_FAILED);
                    assertThat(e.getMessage())
                            .startsWith("git rev-list failed (exit 128): ")
                            .contains("not a git repository");
                });
    }
}
