package io.bisectbot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * Runs a one-shot command ({@code bisectbot bisect}) again in a child JVM made for a short life: the client
 * compiler only ({@code -XX:TieredStopAtLevel=1}), and the application's classes from an extracted copy of the jar
 * with a class-data archive the JVM writes at the first run's exit and maps at every later start
 * ({@code -XX:+AutoCreateSharedArchive}, which also rebuilds it when the JDK or the jar changed). On two cores the
 * optimizing compiler's threads take half the CPU of a start, and loading classes from the jar's nested jars most
 * of the rest; the median warm start to the first step goes from 5.8 s to 2.5 s (docs/BENCHMARKS.md). The command's
 * own work happens in containers, so it gains nothing from optimized code later.
 *
 * <p>JVM options cannot be set from inside a running JVM nor from a jar's manifest, and a class-data archive cannot
 * hold classes from nested jars: hence the second process. The first only waits for it and passes its exit status
 * on. The copy lives in {@code ~/.bisectbot/app/<jar>} (made once per jar, in about a second; the newest three are
 * kept). It relaunches only when this JVM was started with {@code -jar} and its command line is known and ends with
 * the command's arguments, and not when the user chose a compiler setting or {@code BISECTBOT_RELAUNCH=false}; a
 * copy that cannot be made leaves only the compiler option.
 */
final class ShortLivedJvm {

    static final String CHILD_PROPERTY = "bisectbot.relaunched";
    private static final int KEPT_COPIES = 3;

    private ShortLivedJvm() {}

    /** Runs the command in a child JVM and returns its exit status, or empty when it should run in this one. */
    static OptionalInt relaunch(String[] args) {
        var parent = System.getProperty(CHILD_PROPERTY);
        if (parent != null) {
            exitWithParent(parent);
            return OptionalInt.empty();
        }
        if ("false".equalsIgnoreCase(System.getenv("BISECTBOT_RELAUNCH"))) {
            return OptionalInt.empty();
        }
        var info = ProcessHandle.current().info();
        var launch = Launch.of(info.command(), info.arguments(), args);
        if (launch.isEmpty()) {
            return OptionalInt.empty();
        }
        var copy = extractedCopy(launch.get(), Path.of(System.getProperty("user.home"), ".bisectbot", "app"));
        try {
            var child = new ProcessBuilder(launch.get().childCommand(copy))
                    .inheritIO()
                    .start();
            // A TERM to this process alone (kill, a service manager) reaches the child too; on a terminal's
            // Ctrl-C both get the signal. Either way this JVM waits for the child's own clean-up.
            var forward = new Thread(
                    () -> {
                        child.destroy();
                        try {
                            child.waitFor();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    },
                    "relaunched-child");
            Runtime.getRuntime().addShutdownHook(forward);
            int status = child.waitFor();
            Runtime.getRuntime().removeShutdownHook(forward);
            return OptionalInt.of(status);
        } catch (IOException e) {
            // Whatever keeps a second JVM from starting, this one can still do the work.
            return OptionalInt.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalInt.of(130);
        }
    }

    /**
     * How this JVM was started: {@code java [options] -jar JAR args}. Empty when it was not started with
     * {@code -jar}, its command line is unknown or does not end with {@code args} (then it cannot be repeated
     * faithfully), or its options name a compiler level.
     */
    record Launch(String java, List<String> options, Path jar, List<String> args) {

        static Optional<Launch> of(Optional<String> java, Optional<String[]> jvmArguments, String[] args) {
            if (java.isEmpty() || jvmArguments.isEmpty()) {
                return Optional.empty();
            }
            var arguments = Arrays.asList(jvmArguments.get());
            int jar = arguments.indexOf("-jar");
            if (jar < 0
                    || jar + 2 + args.length != arguments.size()
                    || !arguments.subList(jar + 2, arguments.size()).equals(Arrays.asList(args))) {
                return Optional.empty();
            }
            var options = arguments.subList(0, jar);
            if (options.stream()
                    .anyMatch(o -> o.startsWith("-XX:TieredStopAtLevel")
                            || o.endsWith("TieredCompilation")
                            || o.startsWith("-XX:SharedArchiveFile"))) {
                return Optional.empty();
            }
            return Optional.of(
                    new Launch(java.get(), List.copyOf(options), Path.of(arguments.get(jar + 1)), List.of(args)));
        }

        /** The child's command line: from the extracted copy with its class-data archive when there is one. */
        List<String> childCommand(Optional<Path> copy) {
            var command = new ArrayList<String>();
            command.add(java);
            command.addAll(options);
            command.add("-XX:TieredStopAtLevel=1");
            copy.ifPresent(dir -> {
                command.add("-XX:+AutoCreateSharedArchive");
                command.add("-XX:SharedArchiveFile=" + dir.resolve("classes.jsa"));
                // Writing the archive at the first run's exit warns about every class it leaves out, on standard
                // output, where the report (or its JSON) is.
                command.add("-Xlog:cds*=off");
            });
            command.add("-D" + CHILD_PROPERTY + "=" + ProcessHandle.current().pid());
            command.add("-jar");
            command.add(
                    copy.map(dir -> dir.resolve("bisectbot.jar")).orElse(jar).toString());
            command.addAll(args);
            return command;
        }
    }

    /**
     * The jar extracted by Spring Boot's own tool ({@code -Djarmode=tools extract}: a plain jar and its libraries)
     * into a directory named after the jar's path, size and time, made aside and moved into place so a concurrent
     * run never sees half of it. Empty when it cannot be made.
     */
    static Optional<Path> extractedCopy(Launch launch, Path apps) {
        try {
            var jar = launch.jar().toAbsolutePath();
            var key = jar + "|" + Files.size(jar) + "|"
                    + Files.getLastModifiedTime(jar).toMillis();
            var name = HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)), 0, 8);
            var dir = apps.resolve(name);
            if (Files.isRegularFile(dir.resolve("bisectbot.jar"))) {
                return Optional.of(dir);
            }
            Files.createDirectories(apps);
            var partial =
                    apps.resolve(name + ".partial-" + ProcessHandle.current().pid());
            var extract = new ProcessBuilder(
                            launch.java(),
                            "-XX:TieredStopAtLevel=1",
                            "-Djarmode=tools",
                            "-jar",
                            jar.toString(),
                            "extract",
                            "--destination",
                            partial.toString(),
                            "--application-filename",
                            "bisectbot.jar")
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!extract.waitFor(2, TimeUnit.MINUTES)
                    || extract.exitValue() != 0
                    || !Files.isRegularFile(partial.resolve("bisectbot.jar"))) {
                extract.destroyForcibly();
                deleteTree(partial);
                return Optional.empty();
            }
            try {
                Files.move(partial, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException raced) {
                // Another run put its copy there first.
                deleteTree(partial);
            }
            keepNewest(apps);
            return Files.isRegularFile(dir.resolve("bisectbot.jar")) ? Optional.of(dir) : Optional.empty();
        } catch (IOException | NoSuchAlgorithmException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static void keepNewest(Path apps) throws IOException {
        try (var entries = Files.list(apps)) {
            var copies = entries.filter(p -> !p.getFileName().toString().contains(".partial-"))
                    .sorted(Comparator.comparing(ShortLivedJvm::modified).reversed())
                    .toList();
            for (var old : copies.subList(Math.min(KEPT_COPIES, copies.size()), copies.size())) {
                deleteTree(old);
            }
        }
    }

    private static long modified(Path path) {
        try {
            return Files.getLastModifiedTime(path).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            for (var path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            // Best effort: a leftover copy costs disk space only.
        }
    }

    /** A child whose parent was killed outright (SIGKILL) ends too, with its usual clean-up, instead of living on. */
    private static void exitWithParent(String parentPid) {
        try {
            ProcessHandle.of(Long.parseLong(parentPid))
                    .ifPresentOrElse(parent -> parent.onExit().thenRun(() -> System.exit(4)), () -> System.exit(4));
        } catch (NumberFormatException e) {
            // Set by hand (e.g. to keep the command in one JVM): there is no parent to follow.
        }
    }
}
