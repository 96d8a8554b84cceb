package io.bisectbot.cache;

import io.bisectbot.executor.StepSpec;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Dependency cache paths of a bisect or bot task ({@code cache: [/root/.m2/repository, ...]}), checked, and the
 * Docker volumes that hold them.
 *
 * <p>A volume belongs to one scope: a GitHub App installation and repository (the command line: the repository's
 * URL or path), and whether the run was trusted. Untrusted runs (forks, pushes without write access) get volumes of
 * their own, so what untrusted code writes into a cache is never read by a trusted run. Names are deterministic
 * ({@code bisectbot-cache-<hash of scope and path>}), so every instance and every step of that scope finds the same
 * volume.
 */
public final class CachePaths {

    /** Most cache paths one job may declare. */
    public static final int MAX_PATHS = 8;

    public static final String VOLUME_PREFIX = "bisectbot-cache-";

    private CachePaths() {}

    /**
     * The paths, checked and without duplicates; throws {@link IllegalArgumentException} naming the value and what
     * would be right.
     *
     * @param field      name of the setting, for messages ({@code 'cache'}, {@code tasks.lint.cache})
     * @param workingDir the step's working directory, which must stay fresh per step
     */
    public static List<String> check(String field, List<String> paths, String workingDir) {
        if (paths.size() > MAX_PATHS) {
            throw new IllegalArgumentException(
                    field + " has " + paths.size() + " paths; at most " + MAX_PATHS + " are allowed");
        }
        var checked = new LinkedHashSet<String>();
        for (String raw : paths) {
            String path = raw == null ? "" : raw.strip();
            String why = problem(path, workingDir);
            if (why != null) {
                throw new IllegalArgumentException(field + ": '" + raw + "' " + why);
            }
            checked.add(path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path);
        }
        return List.copyOf(checked);
    }

    private static String problem(String path, String workingDir) {
        if (path.isEmpty()) {
            return "is empty; give an absolute directory such as /root/.m2/repository";
        }
        if (!path.startsWith("/")) {
            return "is not absolute; give an absolute directory such as /root/.m2/repository";
        }
        if (path.length() > 200 || !path.matches("[A-Za-z0-9._/@+-]+")) {
            return "may only contain letters, digits and . _ / @ + - (at most 200 characters)";
        }
        for (String part : path.split("/")) {
            if (part.equals("..") || part.equals(".")) {
                return "contains '" + part + "'; give the directory without . or .. parts";
            }
        }
        String normal = path.replaceAll("/+", "/").replaceAll("/$", "");
        if (normal.isEmpty()) {
            return "is the root directory; give a directory below it, such as /root/.m2/repository";
        }
        String work = workingDir == null ? StepSpec.DEFAULT_WORKING_DIR : workingDir;
        if (normal.equals(work)
                || work.startsWith(normal + "/")
                || normal.startsWith(work + "/")
                || normal.equals("/work")
                || normal.startsWith("/work/")
                || normal.equals("/tmp")
                || normal.startsWith("/tmp/")) {
            return "is or overlaps the working directory (" + work + ") or /tmp, which stay fresh for every step; "
                    + "give a directory elsewhere, such as /root/.m2/repository";
        }
        return null;
    }

    /** The scope of a repository under a GitHub App installation; installation 0 is the command line's. */
    public static String scope(long installationId, String repository, boolean trusted) {
        return (installationId == 0 ? "local" : "installation:" + installationId) + "\0" + repository
                + (trusted ? "" : "\0untrusted");
    }

    /** The volume mounted at {@code path} for steps of that scope. */
    public static StepSpec.Cache volume(String scope, String path) {
        return new StepSpec.Cache(VOLUME_PREFIX + hash(scope + "\0" + path).substring(0, 32), path, scopeHash(scope));
    }

    public static List<StepSpec.Cache> volumes(String scope, List<String> paths) {
        var volumes = new ArrayList<StepSpec.Cache>();
        paths.forEach(p -> volumes.add(volume(scope, p)));
        return volumes;
    }

    /** What a volume's scope label holds: a hash, so repository names do not appear on the engine. */
    public static String scopeHash(String scope) {
        return hash(scope).substring(0, 32);
    }

    private static String hash(String text) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
