package io.bisectbot.bots;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * What a task changed in the repository: its working directory, read back from the container, compared by git with
 * the commit it started from. git decides, so {@code .gitignore}d build output is not a change and modes count.
 * The objects git writes go to a temporary directory, never into the shared mirror.
 */
final class ChangedFiles {

    /** One changed path; {@code content} is null for a deletion. */
    record Change(String path, String mode, byte[] content) {
        boolean deleted() {
            return content == null;
        }
    }

    /** Largest working directory read back, so a task cannot fill the instance's disk. */
    static final long MAX_BYTES = 512L * 1024 * 1024;

    /** The most a task's changes may weigh, per file and in all: their contents are held in memory to be pushed. */
    record Limits(long perFile, long total) {
        static final Limits DEFAULT = new Limits(10L << 20, 100L << 20);
    }

    /** The task's files are over a limit; the message says which and by how much. */
    static final class TooLarge extends IOException {
        TooLarge(String message) {
            super(message);
        }
    }

    private ChangedFiles() {}

    /**
     * @param gitDir   the repository (bare mirror or .git) holding {@code commit}
     * @param tar      the working directory as the executor reads it back: entries under one top directory
     */
    static List<Change> between(Path gitDir, String commit, InputStream tar) throws IOException {
        return between(gitDir, commit, tar, Limits.DEFAULT);
    }

    /** As above; throws {@link TooLarge} when a changed file or all of them together exceed {@code limits}. */
    static List<Change> between(Path gitDir, String commit, InputStream tar, Limits limits) throws IOException {
        var scratch = Files.createTempDirectory("bisectbot-changes");
        try {
            var tree = Files.createDirectory(scratch.resolve("tree"));
            unpack(tar, tree);
            Files.createDirectories(scratch.resolve("objects"));
            var env = Map.of(
                    "GIT_DIR", gitDir.toString(),
                    "GIT_WORK_TREE", tree.toString(),
                    "GIT_INDEX_FILE", scratch.resolve("index").toString(),
                    "GIT_OBJECT_DIRECTORY", scratch.resolve("objects").toString(),
                    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                            gitDir.resolve("objects").toString());
            git(env, tree, "read-tree", commit);
            git(env, tree, "add", "-A", ".");
            var newTree = git(env, tree, "write-tree").strip();
            var raw = git(env, tree, "diff-tree", "-r", "-z", "--no-renames", commit + "^{tree}", newTree);
            var changes = new ArrayList<Change>();
            long total = 0;
            // Raw format, -z: ":<old mode> <new mode> <old sha> <new sha> <status>\0<path>\0" per change.
            var fields = raw.split("\0");
            for (int i = 0; i + 1 < fields.length; i += 2) {
                var meta = fields[i].substring(1).split(" ");
                var path = fields[i + 1];
                var newMode = meta[1];
                if (meta[4].startsWith("D")) {
                    changes.add(new Change(path, meta[0], null));
                } else {
                    var file = tree.resolve(path);
                    var size = Files.isSymbolicLink(file) ? 0 : Files.size(file);
                    if (size > limits.perFile()) {
                        throw new TooLarge("the changed file `" + path + "` has " + mib(size) + ", more than the "
                                + mib(limits.perFile()) + " a proposed change may have (CHANGED_FILE_MAX_SIZE)");
                    }
                    total += size;
                    if (total > limits.total()) {
                        throw new TooLarge("the changed files have more than the " + mib(limits.total())
                                + " a proposed change may have in all (CHANGED_FILES_MAX_TOTAL)");
                    }
                    var content = Files.isSymbolicLink(file)
                            ? Files.readSymbolicLink(file).toString().getBytes(StandardCharsets.UTF_8)
                            : Files.readAllBytes(file);
                    changes.add(new Change(path, newMode, content));
                }
            }
            return changes;
        } finally {
            delete(scratch);
        }
    }

    private static void unpack(InputStream tar, Path into) throws IOException {
        var in = new TarArchiveInputStream(tar);
        long total = 0;
        TarArchiveEntry entry;
        while ((entry = in.getNextEntry()) != null) {
            var name = entry.getName();
            var slash = name.indexOf('/');
            // The top directory is the working directory itself.
            if (slash < 0 || slash == name.length() - 1) {
                continue;
            }
            var target = into.resolve(name.substring(slash + 1)).normalize();
            if (!target.startsWith(into)) {
                throw new IOException("the task's files include a path outside its working directory: " + name);
            }
            if (entry.isDirectory()) {
                Files.createDirectories(target);
            } else if (entry.isSymbolicLink()) {
                Files.createDirectories(target.getParent());
                Files.createSymbolicLink(target, Path.of(entry.getLinkName()));
            } else if (entry.isFile()) {
                total += entry.getSize();
                if (total > MAX_BYTES) {
                    throw new TooLarge("the task's working directory is larger than " + mib(MAX_BYTES));
                }
                Files.createDirectories(target.getParent());
                Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
                if ((entry.getMode() & 0100) != 0) {
                    target.toFile().setExecutable(true);
                }
            }
        }
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    private static String git(Map<String, String> env, Path dir, String... args) throws IOException {
        var command = new ArrayList<>(List.of("git", "-c", "core.autocrlf=false", "-c", "core.safecrlf=false"));
        command.addAll(List.of(args));
        var builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(false);
        builder.environment().putAll(env);
        var process = builder.start();
        process.getOutputStream().close();
        var output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        var errors = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException("git " + args[0] + " failed: " + errors.strip());
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return output;
    }

    private static void delete(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException ignored) {
            // A leftover temporary directory is harmless.
        }
    }
}
