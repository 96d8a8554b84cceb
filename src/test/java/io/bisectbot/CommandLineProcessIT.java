package io.bisectbot;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * {@code java -jar bisectbot.jar bisect} as a user runs it: the packaged jar, its one-shot mode's own beans, an
 * embedded database in an empty home, a real repository and real containers. Unit tests build the command's parts
 * by hand; only this run shows that the one-shot context has every bean a bisection needs.
 */
class CommandLineProcessIT {

    @Test
    void the_packaged_jar_bisects_a_repository_and_prints_the_first_bad_commit_without_warnings() throws Exception {
        var repo = Files.createTempDirectory("bisectbot-cli-repo");
        git(repo, "init", "-q");
        for (int i = 0; i < 6; i++) {
            Files.writeString(repo.resolve("state"), i < 3 ? "good\n" : "bad\n");
            Files.writeString(repo.resolve("n"), i + "\n");
            git(repo, "add", "state", "n");
            git(repo, "-c", "user.name=Tester", "-c", "user.email=tester@example.com", "commit", "-qm", "change " + i);
            if (i == 0) {
                git(repo, "tag", "v0");
            }
        }
        var home = Files.createTempDirectory("bisectbot-cli-home");
        // The second run starts from the extracted copy and the class-data archive the first one left.
        for (int run = 1; run <= 2; run++) {
            var output = home.resolve("output-" + run + ".txt");
            var process = bisect(repo, home, output, "v0", "test \"$(cat state)\" = good");
            assertThat(process.waitFor(5, TimeUnit.MINUTES))
                    .as("the bisection ends")
                    .isTrue();

            var text = Files.readString(output);
            assertThat(process.exitValue())
                    .as("exit status 0: culprit found; output:%n%s", text)
                    .isZero();
            assertThat(text)
                    .contains("First bad commit: "
                            + git(repo, "rev-list", "-n", "1", "HEAD~2").strip())
                    .doesNotContain("Exception", "WARN", "ERROR", "[warning]");
            try (var copies = Files.list(home.resolve(".bisectbot/app"))) {
                assertThat(copies.toList())
                        .as("one extracted copy of the jar")
                        .singleElement()
                        .satisfies(
                                copy -> assertThat(copy.resolve("classes.jsa")).isNotEmptyFile());
            }
        }
    }

    @Test
    void a_command_whose_first_process_is_killed_outright_ends_too() throws Exception {
        var repo = Files.createTempDirectory("bisectbot-cli-repo");
        git(repo, "init", "-q");
        for (int i = 0; i < 3; i++) {
            Files.writeString(repo.resolve("n"), i + "\n");
            git(repo, "add", "n");
            git(repo, "-c", "user.name=Tester", "-c", "user.email=tester@example.com", "commit", "-qm", "change " + i);
        }
        var home = Files.createTempDirectory("bisectbot-cli-home");
        var output = home.resolve("output.txt");
        var process = bisect(repo, home, output, "HEAD~2", "sleep 120");
        var child = await(
                () -> process.children()
                        .filter(c -> c.info()
                                .arguments()
                                .map(a -> String.join(" ", a).contains("-Dbisectbot.relaunched="))
                                .orElse(false))
                        .findFirst(),
                Duration.ofMinutes(2),
                "the relaunched JVM");
        // Its first line says it is running.
        await(() -> Optional.of(output).filter(f -> f.toFile().length() > 0), Duration.ofMinutes(2), "output");

        process.destroyForcibly();

        assertThat(child.onExit().get(60, TimeUnit.SECONDS).isAlive())
                .as("the relaunched JVM ends with its parent")
                .isFalse();
    }

    private static Process bisect(Path repo, Path home, Path output, String good, String test) throws Exception {
        var jar = Path.of("target/bisectbot.jar").toAbsolutePath();
        var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        var image = System.getenv().getOrDefault("LOCALCI_RUNNER_IMAGE", "debian:bookworm");
        return new ProcessBuilder(
                        java,
                        "-Duser.home=" + home,
                        "-jar",
                        jar.toString(),
                        "bisect",
                        "--repo",
                        ".",
                        "--good",
                        good,
                        "--image",
                        image,
                        "--",
                        "sh",
                        "-c",
                        test)
                .directory(repo.toFile())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
    }

    private static <T> T await(Supplier<Optional<T>> probe, Duration limit, String what) throws Exception {
        var deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            var found = probe.get();
            if (found.isPresent()) {
                return found.get();
            }
            Thread.sleep(100);
        }
        throw new AssertionError(what + " did not appear within " + limit);
    }

    private static String git(Path dir, String... args) throws Exception {
        var command = new java.util.ArrayList<String>();
        command.add("git");
        command.addAll(java.util.List.of(args));
        var process = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        var out = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor())
                .as("git %s: %s", String.join(" ", args), out)
                .isZero();
        return out;
    }
}
