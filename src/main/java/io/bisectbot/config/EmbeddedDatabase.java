package io.bisectbot.config;

import java.io.FileOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL server started for newcomers from the binaries in the jar; its data directory survives restarts.
 * When bisectbot runs as root the server runs as an unprivileged {@link DatabaseUser} who owns the data directory,
 * as PostgreSQL's own container image does, since PostgreSQL refuses to run as root.
 */
final class EmbeddedDatabase implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);
    private static final long STOP_TIMEOUT_SECONDS = 30;

    private final Path bin;
    private final List<String> asUser;
    private final Path dataDir;
    private final Path logFile;
    private final int port;
    private final FileOutputStream lockStream;

    private EmbeddedDatabase(
            Path bin, List<String> asUser, Path dataDir, Path logFile, int port, FileOutputStream lockStream) {
        this.bin = bin;
        this.asUser = asUser;
        this.dataDir = dataDir;
        this.logFile = logFile;
        this.port = port;
        this.lockStream = lockStream;
    }

    static EmbeddedDatabase start(Path dataDir, int port) {
        var absolute = dataDir.toAbsolutePath().normalize();
        var name = absolute.getFileName().toString();
        var logFile = absolute.resolveSibling(name + ".log");
        FileOutputStream lockStream = null;
        try {
            Files.createDirectories(absolute);
            // Held while this process lives: a second bisectbot on the same directory is refused, and a server left
            // running by a process that was killed is recognised as an orphan and stopped.
            lockStream =
                    new FileOutputStream(absolute.resolveSibling(name + ".lock").toFile());
            FileLock lock = lockStream.getChannel().tryLock();
            if (lock == null) {
                throw new StartupProblem(
                        "Another bisectbot already uses the embedded PostgreSQL in " + absolute + ".",
                        "Stop it, or give this one its own directory with EMBEDDED_PG_DIR.");
            }
            if (!Files.exists(logFile)) {
                Files.createFile(logFile);
            }
            var bin = PostgresBinaries.prepare(absolute.resolveSibling(name + "-bin"))
                    .resolve("bin");
            List<String> asUser = List.of();
            String userName = System.getProperty("user.name");
            if (DatabaseUser.runningAsRoot()) {
                var user = DatabaseUser.forEmbeddedDatabase();
                asUser = user.commandPrefix();
                user.makeReachable(absolute);
                user.own(absolute);
                user.chown(logFile);
                userName = user.name();
            }
            var chosenPort = port > 0 ? port : freePort();
            var database = new EmbeddedDatabase(bin, asUser, absolute, logFile, chosenPort, lockStream);
            database.startServer();
            log.info(
                    "Embedded PostgreSQL: data directory {}, port {}, log file {}, running as user {}",
                    absolute,
                    chosenPort,
                    logFile,
                    userName);
            return database;
        } catch (IOException | RuntimeException e) {
            closeQuietly(lockStream);
            if (e instanceof StartupProblem problem) {
                throw problem;
            }
            throw new StartupProblem(
                    "Could not start the embedded PostgreSQL with data in " + absolute + ": " + e.getMessage()
                            + (Files.exists(logFile) ? " (its log: " + logFile + ")" : ""),
                    "Check that the directory (EMBEDDED_PG_DIR) is writable and the port (EMBEDDED_PG_PORT) free, "
                            + "or set DATABASE_URL to a PostgreSQL server.");
        }
    }

    private void startServer() throws IOException {
        if (!Files.exists(dataDir.resolve("PG_VERSION"))) {
            run("initdb", "-A", "trust", "-U", "postgres", "-D", dataDir.toString(), "-E", "UTF-8", "--no-locale");
        }
        if (Files.exists(dataDir.resolve("postmaster.pid")) && pgCtl("status", "-D", dataDir.toString()) == 0) {
            log.info("Stopping the embedded PostgreSQL left running in {} by a process that ended", dataDir);
            run("pg_ctl", "stop", "-D", dataDir.toString(), "-m", "fast", "-w", "-t", "30");
        }
        // No Unix socket: clients connect over TCP, and no shared /tmp file can clash or be refused.
        var options = "-p " + port + " -F -c listen_addresses=localhost -c unix_socket_directories='' "
                + "-c timezone=UTC -c synchronous_commit=off -c max_connections=100";
        run("pg_ctl", "start", "-D", dataDir.toString(), "-l", logFile.toString(), "-o", options, "-w", "-t", "60");
    }

    private int pgCtl(String... args) throws IOException {
        return exec("pg_ctl", args);
    }

    private void run(String program, String... args) throws IOException {
        var status = exec(program, args);
        if (status != 0) {
            throw new IOException(program + " " + args[0] + " ended with status " + status);
        }
    }

    private int exec(String program, String... args) throws IOException {
        var command = new ArrayList<>(asUser);
        command.add(bin.resolve(program).toString());
        command.addAll(List.of(args));
        var process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .start();
        try {
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(program + " did not finish within 120 s");
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + program, e);
        }
    }

    private static int freePort() throws IOException {
        try (var socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void closeQuietly(FileOutputStream stream) {
        if (stream != null) {
            try {
                stream.close();
            } catch (IOException ignored) {
                // Nothing left to release.
            }
        }
    }

    String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + port + "/postgres?user=postgres";
    }

    int port() {
        return port;
    }

    Path logFile() {
        return logFile;
    }

    @Override
    public void close() throws IOException {
        log.info("Stopping embedded PostgreSQL ({})", dataDir);
        try {
            run(
                    "pg_ctl",
                    "stop",
                    "-D",
                    dataDir.toString(),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    Long.toString(STOP_TIMEOUT_SECONDS));
        } finally {
            lockStream.close();
        }
    }
}
