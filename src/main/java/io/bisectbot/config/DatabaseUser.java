package io.bisectbot.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The unprivileged account the embedded PostgreSQL runs as when bisectbot itself runs as root, since PostgreSQL
 * refuses to run as root. Like PostgreSQL's own container image: a dedicated system account when one can be created,
 * else {@code nobody}; the data directory is handed to it.
 */
record DatabaseUser(String name, int uid, int gid) {

    static final String DEDICATED = "bisectbot-pg";
    private static final Logger log = LoggerFactory.getLogger(DatabaseUser.class);

    static boolean runningAsRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** The dedicated account, created on first use; {@code nobody} when it cannot be created. */
    static DatabaseUser forEmbeddedDatabase() {
        var dedicated = lookUp(DEDICATED);
        if (dedicated == null) {
            var created = run(List.of(
                    "useradd",
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    DEDICATED));
            dedicated = created == 0 ? lookUp(DEDICATED) : null;
            if (dedicated == null) {
                log.info(
                        "Could not create the system user {} (useradd exit {}); the embedded PostgreSQL runs as nobody",
                        DEDICATED,
                        created);
            }
        }
        if (dedicated != null) {
            return dedicated;
        }
        var nobody = lookUp("nobody");
        if (nobody == null) {
            throw new StartupProblem(
                    "bisectbot runs as root, PostgreSQL refuses to, and there is neither a user " + DEDICATED
                            + " nor nobody to run the embedded PostgreSQL as (useradd failed).",
                    "Create a system user " + DEDICATED + " (useradd --system " + DEDICATED + "), run bisectbot as a "
                            + "normal user, or set DATABASE_URL to a PostgreSQL server.");
        }
        return nobody;
    }

    /** The command prefix that runs a program as this user, with its groups and without root's. */
    List<String> commandPrefix() {
        if (onPath("setpriv")) {
            return List.of("setpriv", "--reuid=" + uid, "--regid=" + gid, "--init-groups", "--");
        }
        if (onPath("runuser")) {
            return List.of("runuser", "-u", name, "--");
        }
        throw new StartupProblem(
                "bisectbot runs as root and needs setpriv or runuser (util-linux) to start the "
                        + "embedded PostgreSQL as the user " + name + ", and neither is on the PATH.",
                "Install util-linux, run bisectbot as a normal user, or set DATABASE_URL to a PostgreSQL server.");
    }

    /** Gives the directory tree to this user, when it is not theirs yet. */
    void own(Path dir) throws IOException {
        if (ownerUid(dir) == uid) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (var file : (Iterable<Path>) files::iterator) {
                chown(file);
            }
        }
    }

    void chown(Path file) throws IOException {
        Files.setAttribute(file, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(file, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * PostgreSQL changes into its data directory, so each directory above it must be searchable by this user
     * (a root home directory usually is not). Grants search only ({@code o+x}), never listing or reading.
     */
    void makeReachable(Path dataDir) throws IOException {
        var blocking = new ArrayList<Path>();
        for (var dir = dataDir.getParent(); dir != null; dir = dir.getParent()) {
            var permissions = Files.getPosixFilePermissions(dir);
            if (!permissions.contains(PosixFilePermission.OTHERS_EXECUTE) && ownerUid(dir) != uid) {
                blocking.add(dir);
            }
        }
        for (var dir : blocking) {
            var permissions = Files.getPosixFilePermissions(dir);
            permissions.add(PosixFilePermission.OTHERS_EXECUTE);
            Files.setPosixFilePermissions(dir, permissions);
            log.info(
                    "Allowed other users to pass through {} (search only, o+x) so that {} reaches the data directory",
                    dir,
                    name);
        }
    }

    private static int ownerUid(Path path) throws IOException {
        return (Integer) Files.getAttribute(path, "unix:uid");
    }

    private static DatabaseUser lookUp(String name) {
        var entry = output(List.of("getent", "passwd", name));
        if (entry == null) {
            return null;
        }
        var fields = entry.strip().split(":");
        return fields.length < 4
                ? null
                : new DatabaseUser(name, Integer.parseInt(fields[2]), Integer.parseInt(fields[3]));
    }

    private static boolean onPath(String program) {
        var path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        return Stream.of(path.split(":")).anyMatch(dir -> Files.isExecutable(Path.of(dir, program)));
    }

    private static int run(List<String> command) {
        try {
            var process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            return process.waitFor(30, TimeUnit.SECONDS) ? process.exitValue() : -1;
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static String output(List<String> command) {
        try {
            var process = new ProcessBuilder(command)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            var text = new String(process.getInputStream().readAllBytes());
            return process.waitFor() == 0 && !text.isBlank() ? text : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
