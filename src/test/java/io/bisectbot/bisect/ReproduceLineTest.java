package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.git.GitRepository;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The printed reproduce lines, pasted into a POSIX shell, reach the same verdicts as the bisection. */
class ReproduceLineTest {

    // &&, ;, both quotes and $: the words a naive join would break apart.
    private static final List<String> COMMAND = List.of("sh", "-c", "test \"$(cat state)\" = 'good' && exit 0; exit 1");

    @TempDir
    Path dir;

    private BisectResult bisect(List<String> shas) throws Exception {
        var runner = InProcessRunner.exitCodes(sha -> shas.indexOf(sha) >= 5 ? 1 : 0);
        return new BisectEngine(new GitHistory(GitRepository.open(dir.resolve(".git"))), runner, StepStore.none())
                .run(shas.getLast(), List.of(shas.getFirst()), BisectOptions.defaults());
    }

    @Test
    void the_git_bisect_line_run_through_sh_finds_the_same_culprit() throws Exception {
        var shas = TestRepos.linear(dir, 9, 5, 0);
        var result = bisect(shas);
        assertThat(((BisectOutcome.FirstBad) result.outcome()).commit().sha()).isEqualTo(shas.get(5));

        var line = BisectReport.reproduce(result, ShellWords.join(COMMAND));
        assertThat(sh(line)).isZero();
        assertThat(GeneratedHistory.Git.run(dir, "rev-parse", "refs/bisect/bad").trim())
                .isEqualTo(shas.get(5));
        GeneratedHistory.Git.run(dir, "bisect", "reset");
    }

    @Test
    void the_docker_line_run_through_sh_gives_the_verdict_of_that_commit() throws Exception {
        var shas = TestRepos.linear(dir, 9, 5, 0);
        var image = System.getenv().getOrDefault("LOCALCI_RUNNER_IMAGE", "debian:bookworm");
        var bad = BisectReport.dockerReproduce(
                shas.get(5), image, COMMAND, "65534:65534", 512L << 20, 1.0, 256, 64L << 20, "/work/src");
        var good = BisectReport.dockerReproduce(
                shas.get(4), image, COMMAND, "65534:65534", 512L << 20, 1.0, 256, 64L << 20, "/work/src");
        assertThat(sh(bad)).isEqualTo(1);
        assertThat(sh(good)).isZero();
    }

    @Test
    void the_docker_line_mounts_the_job_s_cache_volumes_at_their_paths_and_runs_through_sh() throws Exception {
        var shas = TestRepos.linear(dir, 9, 5, 0);
        var image = System.getenv().getOrDefault("LOCALCI_RUNNER_IMAGE", "debian:bookworm");
        var volume = "bisectbot-reproduce-test-" + System.nanoTime();
        // A path a naive join would split; the executor gives a cache volume's top directory to the step's user.
        var path = "/cache dir/it's";
        var command = List.of(
                "sh",
                "-c",
                "cat \"/cache dir/it's/marker\" && echo again >> \"/cache dir/it's/marker\" "
                        + "&& test \"$(cat state)\" = good");
        assertThat(sh("docker volume create " + volume + " >/dev/null && docker run --rm -v " + volume + ":/c " + image
                        + " sh -c 'echo cached > /c/marker && chown -R 65534:65534 /c'"))
                .isZero();
        try {
            var line = BisectReport.dockerReproduce(
                    shas.get(4),
                    image,
                    command,
                    "65534:65534",
                    512L << 20,
                    1.0,
                    256,
                    64L << 20,
                    "/work/src",
                    List.of(new io.bisectbot.executor.StepSpec.Cache(volume, path, "scope")),
                    io.bisectbot.executor.StepSpec.Network.NONE);

            assertThat(line)
                    .contains(" -v '" + volume + ":/cache dir/it'\\''s' ")
                    .contains("--network none");
            assertThat(sh(line)).isZero();
            assertThat(output(line)).isEqualTo("cached\nagain\n");
        } finally {
            sh("docker volume rm -f " + volume + " >/dev/null");
        }
    }

    @Test
    void the_docker_line_has_the_bridge_when_the_job_had_it() {
        var line = BisectReport.dockerReproduce(
                "abc",
                "img",
                List.of("make"),
                "65534:65534",
                1,
                1.0,
                1,
                1,
                "/work/src",
                List.of(),
                io.bisectbot.executor.StepSpec.Network.BRIDGE);
        assertThat(line).contains("--network bridge").doesNotContain("--network none");
    }

    @Test
    void the_terminal_report_puts_the_full_culprit_sha_first_and_has_no_html_entities() throws Exception {
        var shas = TestRepos.linear(dir, 9, 5, 0);
        var text = BisectReport.terminal(bisect(shas), ShellWords.join(COMMAND), null, false);
        assertThat(text.lines().findFirst()).hasValue("First bad commit: " + shas.get(5));
        assertThat(text)
                .contains("change 5")
                .contains("<")
                .doesNotContain("&lt;")
                .doesNotContain("&gt;")
                .doesNotContain("\u001b[")
                .contains("git bisect run sh -c 'test \"$(cat state)\" = '\\''good'\\'' && exit 0; exit 1'");
    }

    @Test
    void words_are_quoted_only_when_needed() {
        assertThat(ShellWords.join(List.of("make", "test", "-j4", "a b", "it's", "$HOME", "")))
                .isEqualTo("make test -j4 'a b' 'it'\\''s' '$HOME' ''");
    }

    private String output(String line) throws Exception {
        var process = new ProcessBuilder("sh", "-c", line)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        var output = new String(process.getInputStream().readAllBytes());
        process.waitFor();
        return output;
    }

    private int sh(String line) throws Exception {
        var process = new ProcessBuilder("sh", "-c", line)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        var output = new String(process.getInputStream().readAllBytes());
        var status = process.waitFor();
        System.out.println(line + "\n" + output);
        return status;
    }
}
