package io.bisectbot.bisect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Small real git repositories for job-level tests: a linear history whose test starts failing at one commit. */
final class TestRepos {

    private TestRepos() {}

    /**
     * {@code n} commits; commit {@code firstBad} (0-based) and later ones fail {@code sh test.sh}. Each test run
     * sleeps {@code sleepSeconds} first. Returns the shas, oldest first.
     */
    static List<String> linear(Path dir, int n, int firstBad, double sleepSeconds) throws IOException {
        GeneratedHistory.Git.run(dir, "init", "-q", "-b", "main");
        Files.writeString(dir.resolve("test.sh"), """
                #!/bin/sh
                sleep %s
                echo "testing $(cat version)"
                # Builds write next to the source: the step must be able to.
                echo built > build-output.txt
                [ "$(cat state)" = good ]
                """.formatted(sleepSeconds));
        var shas = new ArrayList<String>();
        for (int i = 0; i < n; i++) {
            Files.writeString(dir.resolve("version"), "v" + i + "\n");
            Files.writeString(dir.resolve("state"), i < firstBad ? "good\n" : "bad\n");
            GeneratedHistory.Git.run(dir, "add", "-A");
            GeneratedHistory.Git.runEnv(
                    dir,
                    java.util.Map.of(
                            "GIT_COMMITTER_DATE",
                            "2026-01-01T00:00:" + String.format("%02d", i % 60),
                            "GIT_AUTHOR_DATE",
                            "2026-01-01T00:00:" + String.format("%02d", i % 60)),
                    "commit",
                    "-q",
                    "-m",
                    "change " + i);
            shas.add(GeneratedHistory.Git.run(dir, "rev-parse", "HEAD").trim());
        }
        return shas;
    }

    /**
     * {@code n} commits whose {@code perf.sh} prints one number: the commit's cost ({@code 100}, or {@code 130} from
     * commit {@code slowFrom} on; 0-based, {@code -1} for none) times a noise factor drawn uniformly from 0.9-1.1 by a
     * generator seeded by commit and run ({@code BISECT_COMMIT}, {@code BISECT_RUN}). Returns the shas, oldest first.
     */
    static List<String> metric(Path dir, int n, int slowFrom) throws IOException {
        GeneratedHistory.Git.run(dir, "init", "-q", "-b", "main");
        Files.writeString(dir.resolve("perf.sh"), """
                #!/bin/sh
                seed=$(printf '%s' "$BISECT_COMMIT-$BISECT_RUN" | cksum | cut -d ' ' -f 1)
                echo "measuring $(cat version)"
                awk -v seed="$seed" -v cost="$(cat cost)" 'BEGIN { srand(seed % 2147483647); printf "%.3f\\n", cost * (0.9 + 0.2 * rand()) }'
                """);
        var shas = new ArrayList<String>();
        for (int i = 0; i < n; i++) {
            Files.writeString(dir.resolve("version"), "v" + i + "\n");
            Files.writeString(dir.resolve("cost"), slowFrom >= 0 && i >= slowFrom ? "130\n" : "100\n");
            GeneratedHistory.Git.run(dir, "add", "-A");
            GeneratedHistory.Git.runEnv(
                    dir,
                    java.util.Map.of(
                            "GIT_COMMITTER_DATE",
                            "2026-01-01T00:00:" + String.format("%02d", i % 60),
                            "GIT_AUTHOR_DATE",
                            "2026-01-01T00:00:" + String.format("%02d", i % 60)),
                    "commit",
                    "-q",
                    "-m",
                    "change " + i);
            shas.add(GeneratedHistory.Git.run(dir, "rev-parse", "HEAD").trim());
        }
        return shas;
    }
}
