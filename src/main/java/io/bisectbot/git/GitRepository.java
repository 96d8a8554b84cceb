package io.bisectbot.git;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A local git repository (bare mirror or work tree) read through the git CLI, without a shell.
 * Tokens travel only in the child's environment ({@code GIT_CONFIG_COUNT}/{@code KEY}/{@code VALUE}),
 * so they are neither on a command line other users can list nor in a saved config or URL. A git command that
 * fails throws {@link GitException} with git's own words (the token masked).
 */
public final class GitRepository {

    /** A commit with what a report needs to name it: parents in git's order, subject, author, commit date. */
    public record Commit(String sha, List<String> parents, String subject, String author, Instant date) {
        public Commit {
            parents = List.copyOf(parents);
        }
    }

    private static final Map<Path, ReentrantLock> MIRROR_LOCKS = new ConcurrentHashMap<>();
    private static final String FIELD = "\u001f";

    private final Path dir;
    private final String token;

    private GitRepository(Path dir, String token) {
        this.dir = dir;
        this.token = token;
    }

    private static final java.util.regex.Pattern REMOTE =
            java.util.regex.Pattern.compile("(https?|ssh|git)://\\S+|[\\w.-]+@[\\w.-]+:\\S+");

    /** Whether {@code location} is a git URL (fetched into the mirror cache) rather than a local path. */
    public static boolean isRemote(String location) {
        return REMOTE.matcher(location).matches();
    }

    /** The mirror of a git URL, or the local repository at a path. */
    public static GitRepository at(String location, Path cacheDir, String token) {
        return isRemote(location) ? mirror(location, cacheDir, token) : open(Path.of(location));
    }

    /** An existing local repository: a bare repository or the top of a work tree. */
    public static GitRepository open(Path dir) {
        return new GitRepository(dir, null);
    }

    /**
     * The bare mirror of {@code url} under {@code cacheDir}, cloned on first use and fetched (with prune)
     * afterwards. Jobs of one repository on this instance take turns.
     *
     * @param token optional access token (GitHub App installation token); may be null
     */
    public static GitRepository mirror(String url, Path cacheDir, String token) {
        String cleanUrl = withoutCredentials(url);
        Path dir = cacheDir.resolve(cacheName(cleanUrl)).toAbsolutePath().normalize();
        GitRepository repo = new GitRepository(dir, token);
        ReentrantLock lock = MIRROR_LOCKS.computeIfAbsent(dir, d -> new ReentrantLock());
        lock.lock();
        try {
            if (Files.isDirectory(dir.resolve("objects"))) {
                repo.git(null, "fetch", "--prune", "--quiet", "origin");
                // Last use, for the cache's age and size limits (MirrorCacheCleaner).
                Files.setLastModifiedTime(dir, java.nio.file.attribute.FileTime.from(java.time.Instant.now()));
            } else {
                Files.createDirectories(cacheDir);
                Path tmp = Files.createTempDirectory(cacheDir, ".clone-");
                Files.delete(tmp);
                try {
                    repo.git(cacheDir, "clone", "--mirror", "--quiet", "--", cleanUrl, tmp.toString());
                    // Cloned under a temporary name so that a crash never leaves a half mirror in place.
                    Files.move(tmp, dir);
                } catch (RuntimeException e) {
                    deleteTree(tmp);
                    throw e;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            lock.unlock();
        }
        return repo;
    }

    public Path directory() {
        return dir;
    }

    /**
     * Deletes the mirror at {@code dir} unless a job is fetching into it right now; true when it was deleted. A job
     * that uses it later clones it again.
     */
    static boolean deleteMirrorIfIdle(Path dir) throws IOException {
        ReentrantLock lock = MIRROR_LOCKS.computeIfAbsent(dir.toAbsolutePath().normalize(), d -> new ReentrantLock());
        if (!lock.tryLock()) {
            return false;
        }
        try {
            deleteTree(dir);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** The git directory itself: the mirror, or the {@code .git} of a work tree. */
    public Path gitDirectory() {
        var dotGit = dir.resolve(".git");
        return Files.isDirectory(dotGit) ? dotGit : dir;
    }

    /** Full commit id of {@code revision}, or empty when it names no commit. */
    public Optional<String> resolve(String revision) {
        if (revision.startsWith("-")) return Optional.empty();
        Output out = run(null, false, "rev-parse", "--verify", "--quiet", "--end-of-options", revision + "^{commit}");
        return out.exit == 0 ? Optional.of(out.text.trim()) : Optional.empty();
    }

    /** {@code rev-list --parents bad ^good...} in rev-list order (newest first), with report data. */
    public List<Commit> revList(String bad, List<String> goods, boolean firstParent) {
        List<String> args = new ArrayList<>(List.of("rev-list", "--parents", "--format=%x1f%an <%ae>%x1f%ct%x1f%s"));
        if (firstParent) args.add("--first-parent");
        args.add(bad);
        for (String g : goods) args.add("^" + g);
        args.add("--");
        String text = git(null, args.toArray(String[]::new));
        List<Commit> commits = new ArrayList<>();
        String[] lines = text.split("\n");
        for (int i = 0; i + 1 < lines.length; i += 2) {
            // "commit SHA PARENT..." then the formatted line.
            String[] ids = lines[i].substring("commit ".length()).trim().split(" ");
            String[] f = lines[i + 1].split(FIELD, -1);
            List<String> parents = Arrays.asList(ids).subList(1, ids.length);
            commits.add(new Commit(ids[0], parents, f[3], f[1], Instant.ofEpochSecond(Long.parseLong(f[2]))));
        }
        return commits;
    }

    /** {@code merge-base --all bad good...} in git's order. */
    public List<String> mergeBases(String bad, List<String> goods) {
        List<String> args = new ArrayList<>(List.of("merge-base", "--all", bad));
        args.addAll(goods);
        Output out = run(null, false, args.toArray(String[]::new));
        return out.text.lines().map(String::trim).filter(l -> !l.isEmpty()).toList();
    }

    /** Report data of one commit; empty when there is no such commit. */
    public Optional<Commit> describe(String sha) {
        Output out = run(null, false, "log", "-1", "--format=%H %P%x1f%an <%ae>%x1f%ct%x1f%s", sha, "--");
        if (out.exit != 0 || out.text.isBlank()) return Optional.empty();
        String[] f = out.text.strip().split(FIELD, -1);
        String[] ids = f[0].trim().split(" ");
        return Optional.of(new Commit(
                ids[0],
                Arrays.asList(ids).subList(1, ids.length),
                f[3],
                f[1],
                Instant.ofEpochSecond(Long.parseLong(f[2]))));
    }

    /** The tree a commit records; empty when there is no such commit. */
    public Optional<String> tree(String sha) {
        if (sha.startsWith("-")) return Optional.empty();
        Output out = run(null, false, "rev-parse", "--verify", "--quiet", "--end-of-options", sha + "^{tree}");
        return out.exit == 0 ? Optional.of(out.text.trim()) : Optional.empty();
    }

    /**
     * Whether {@code commit} is on a branch or a tag of the repository, not only under another ref (a mirror of a
     * GitHub repository also holds every pull request's head, {@code refs/pull/<n>/head}, forks' included).
     */
    public boolean onBranchOrTag(String commit) {
        if (commit.startsWith("-")) return false;
        Output out = run(
                null,
                false,
                "for-each-ref",
                "--count=1",
                "--format=%(refname)",
                "--contains",
                commit,
                "refs/heads/",
                "refs/tags/");
        if (out.exit != 0) throw new GitException("git for-each-ref failed: " + out.error);
        return !out.text.isBlank();
    }

    /** Whether {@code ancestor} is reachable from {@code descendant} (a commit is its own ancestor). */
    public boolean isAncestor(String ancestor, String descendant) {
        Output out = run(null, false, "merge-base", "--is-ancestor", ancestor, descendant);
        if (out.exit > 1) throw new GitException("git merge-base failed: " + out.error);
        return out.exit == 0;
    }

    /**
     * The tree of {@code commit} as an uncompressed tar stream, for copying into a container.
     * Closing the stream before its end stops git.
     */
    public InputStream archive(String commit) {
        if (commit.startsWith("-")) throw new IllegalArgumentException("not a commit: " + commit);
        try {
            Process p = builder(null, "archive", "--format=tar", commit)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            p.getOutputStream().close();
            InputStream in = p.getInputStream();
            return new java.io.FilterInputStream(in) {
                @Override
                public void close() throws IOException {
                    super.close();
                    p.destroy();
                }
            };
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- process plumbing

    private record Output(int exit, String text, String error) {}

    private String git(Path workDir, String... args) {
        Output out = run(workDir, true, args);
        return out.text;
    }

    private Output run(Path workDir, boolean mustSucceed, String... args) {
        try {
            Process p = builder(workDir, args).start();
            p.getOutputStream().close();
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
            byte[] out = readAll(p.getInputStream());
            int exit = p.waitFor();
            String error = new String(err.join(), StandardCharsets.UTF_8);
            if (mustSucceed && exit != 0) {
                throw new GitException("git " + args[0] + " failed (exit " + exit + "): " + redact(error.trim()));
            }
            return new Output(exit, new String(out, StandardCharsets.UTF_8), error);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running git", e);
        }
    }

    private ProcessBuilder builder(Path workDir, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("git");
        if (workDir == null) {
            // -C works for a bare mirror and for a work tree alike.
            cmd.add("-C");
            cmd.add(dir.toString());
        }
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        if (workDir != null) pb.directory(workDir.toFile());
        Map<String, String> env = pb.environment();
        env.put("GIT_TERMINAL_PROMPT", "0");
        env.put("LC_ALL", "C");
        env.remove("GIT_DIR");
        env.remove("GIT_WORK_TREE");
        // Never fall back to a repository that merely encloses the directory.
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) env.put("GIT_CEILING_DIRECTORIES", parent.toString());
        if (token != null && !token.isEmpty()) {
            String basic =
                    Base64.getEncoder().encodeToString(("x-access-token:" + token).getBytes(StandardCharsets.UTF_8));
            env.put("GIT_CONFIG_COUNT", "1");
            env.put("GIT_CONFIG_KEY_0", "http.extraHeader");
            env.put("GIT_CONFIG_VALUE_0", "Authorization: Basic " + basic);
        }
        return pb;
    }

    private String redact(String message) {
        if (token == null || token.isEmpty()) return message;
        return message.replace(token, "***");
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    private static byte[] readAll(InputStream in) {
        try (in) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            in.transferTo(buf);
            return buf.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Drops user:password@ so that nothing secret reaches the mirror's config. */
    static String withoutCredentials(String url) {
        try {
            URI u = URI.create(url);
            if (u.getScheme() != null && u.getRawUserInfo() != null && u.getHost() != null) {
                return new URI(
                                u.getScheme(),
                                null,
                                u.getHost(),
                                u.getPort(),
                                u.getPath(),
                                u.getQuery(),
                                u.getFragment())
                        .toString();
            }
        } catch (IllegalArgumentException | java.net.URISyntaxException e) {
            // not a URI (scp-like or a path): nothing to strip
        }
        return url;
    }

    /** A stable, file-system-safe directory name per repository URL. */
    static String cacheName(String url) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(url.getBytes(StandardCharsets.UTF_8));
            String tail = url.replaceAll("\\.git/?$", "")
                    .replaceAll("^.*[/:]([^/:]+/[^/:]+)$", "$1")
                    .replaceAll("[^A-Za-z0-9._-]", "_");
            if (tail.length() > 60) tail = tail.substring(tail.length() - 60);
            return tail + "-" + HexFormat.of().formatHex(hash, 0, 8) + ".git";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
