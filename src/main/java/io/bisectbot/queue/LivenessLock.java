package io.bisectbot.queue;

import io.bisectbot.loop.Loop;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proves this instance alive to the others through PostgreSQL itself: a session advisory lock, held on a dedicated
 * connection for the instance's whole life, on a key derived from the worker id and named in the {@code workers}
 * row. PostgreSQL drops the lock the moment that session ends, so a crashed instance's jobs are seen as orphaned
 * by {@link RecoveryLoop} within one liveness check instead of after {@code JOB_STALE_AFTER}.
 *
 * <p><b>Why an advisory lock, not a backend pid checked in {@code pg_stat_activity}.</b> Pids are reused by the
 * server, and another role's sessions are partly hidden in {@code pg_stat_activity}; a lock held is visible to
 * everyone in {@code pg_locks}, cannot be held by two sessions, and is released by the server itself when the
 * session ends, which is exactly the fact recovery needs. A fixed key also keeps a restarted instance with the
 * same {@code WORKER_ID} from claiming before its predecessor's session is gone.
 *
 * <p><b>Ordering: the instance whose session was lost stops first.</b> Every probe is one statement, run on the
 * locked session, that answers whether this very backend still holds the lock. A session holds its advisory lock
 * until it ends (this code never unlocks while it runs jobs), so a true answer to a probe sent at time
 * {@code q} means the lock was held at some moment after {@code q}: the server's release time {@code t_L} is after
 * the send time of the last confirmed probe. The instance stops claiming once no probe sent in the last
 * {@code ¾·LIVENESS_TIMEOUT} was confirmed, measured on its monotonic clock, or on any probe error, and it stops its
 * jobs by {@code t_L + ¾·timeout} unless it learns in that time that the server is down (see below). Another instance can only see the lock missing after {@code t_L},
 * and puts the job back to PENDING with a delay of at least the full timeout; nobody claims it before
 * {@code t_L + timeout}. The remaining quarter covers the watchdog's period and the handlers' reaction to the stop.
 * The fence still decides what is stored: the stopped attempt's release is a fenced write, and loses to recovery if
 * recovery came first. After a loss the instance reconnects and claims again only once it holds the lock anew,
 * which it cannot while the old session lingers on the server (half-open connection): its jobs stay stopped.
 *
 * <p><b>Server restarts and outages.</b> When the server itself goes down, every session ends with it, but nobody
 * can take a job while it is down, and a lock taken before the server's last start ({@code liveness_since} earlier
 * than {@code pg_postmaster_start_time()}) does not make its worker an orphan: such workers get the heartbeat timeout,
 * counted from the restart ({@link JobRepository}). So after losing its session the instance asks the server on a
 * fresh connection ({@link ServerProbe}) before its deadline: a refused connection or "starting up / shutting down"
 * means the server is down, and the jobs go on; once the server answers, a new start time means it restarted, and the
 * jobs still go on while the lock is taken again. The jobs are stopped when the server answers with the same start
 * time (the session alone was lost, and others may take the jobs at once) or gives no clear answer by the deadline
 * (a network cut looks like this). A server down for minutes thus costs no running job; only a connection refused
 * while the server is up for others (a firewall's reject) could let two instances run one attempt, and then the fence
 * still keeps the stored outcome single.
 *
 * <p><b>Frozen or cut-off instances.</b> A process stopped by SIGSTOP or a long pause keeps its socket open, so the
 * lock stays; the heartbeat timeout still applies to it. A machine that vanishes without closing its socket is
 * caught by the server's TCP keepalives and {@code tcp_user_timeout}, set on this session (seconds, see RUNBOOK).
 *
 * <p><b>Poolers.</b> Behind a transaction-mode pooler (PgBouncer) statements of one client run on different server
 * sessions, so a session lock proves nothing. {@code LIVENESS_LOCKS=auto} notices when a probe runs on a backend
 * other than the one that took the lock and falls back to heartbeats only, saying so in the log and {@code /health};
 * {@code off} never takes the lock.
 */
final class LivenessLock {

    private static final Logger log = LoggerFactory.getLogger(LivenessLock.class);

    /** The pg_locks row of a session advisory lock on a bigint key, in this database. */
    static final String LOCK_HELD = """
            EXISTS (SELECT 1 FROM pg_locks l
                     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                       AND ((l.classid::bigint << 32) | l.objid::bigint) = %s)""";

    /** What the rest of the node learns. */
    interface Listener {
        /** The lock is no longer confirmed: claim nothing; running jobs go on until {@link #lost} or {@link #regained}. */
        void suspended(String why);

        /** The lock is lost and others may take the jobs: stop running jobs and claim nothing. */
        void lost(String why);

        /** The lock is held (again), or liveness is heartbeat-only: claiming may go on. */
        void regained();
    }

    enum State {
        STARTING,
        HELD,
        LOST,
        HEARTBEAT_ONLY
    }

    private final DataSource dataSource;
    private final String workerId;
    private final QueueProperties.LivenessMode mode;
    private final Duration timeout;
    private final Listener listener;
    private final long probeNanos;
    private final long stopAfterNanos;
    private final Loop watchdog;
    private final Thread prober;

    private volatile State state = State.STARTING;
    private volatile String reason = "";
    private volatile Connection connection;
    private volatile Long key;
    private volatile Integer pid;
    /** Monotonic send time of the last probe the server confirmed; valid while HELD. */
    private volatile long confirmedSentAt;

    private volatile boolean stopped;
    private boolean everHeld;
    private final ServerProbe serverProbe;
    /** pg_postmaster_start_time() and now() when the lock was taken. */
    private volatile java.time.Instant serverStartedAt;

    private volatile java.time.Instant since;
    /** After a loss: whether the jobs were stopped, or the server was seen down (so they go on), or neither yet. */
    private volatile boolean jobsStopped = true;

    private volatile boolean serverDown;

    LivenessLock(
            DataSource dataSource,
            String workerId,
            QueueProperties.LivenessMode mode,
            Duration timeout,
            Listener listener) {
        this.dataSource = dataSource;
        this.workerId = workerId;
        this.mode = mode;
        this.timeout = timeout;
        this.listener = listener;
        this.probeNanos = timeout.toNanos() / 4;
        this.stopAfterNanos = timeout.toNanos() * 3 / 4;
        var period = Duration.ofMillis(Math.max(10, TimeUnit.NANOSECONDS.toMillis(probeNanos) / 5));
        this.watchdog =
                Loop.every("liveness-watchdog-" + workerId, period, this::check).withInitialDelay(period);
        this.prober = Thread.ofPlatform().name("liveness-" + workerId).daemon().unstarted(this::run);
        this.serverProbe = ServerProbe.of(dataSource);
    }

    /** Tries once to take the lock (so the first heartbeat can name it), then keeps it in the background. */
    void start() {
        if (mode == QueueProperties.LivenessMode.OFF) {
            heartbeatOnly("LIVENESS_LOCKS=off");
        } else {
            acquire();
            if (state == State.STARTING) {
                // Claims wait until the lock is held; the prober keeps trying.
                state = State.LOST;
                listener.lost(reason);
            }
        }
        prober.start();
        watchdog.start();
    }

    /** Ends the session, which releases the lock (shutdown, or a simulated crash in tests). */
    void stop() {
        stopped = true;
        watchdog.stop();
        prober.interrupt();
        closePhysically();
    }

    /**
     * The key to name in the workers row. Kept while the lock is lost (the jobs are being stopped and others may
     * take them back); null before it was ever held and when heartbeat-only.
     */
    Long key() {
        return state == State.HELD || state == State.LOST ? key : null;
    }

    Integer pid() {
        return state == State.HELD ? pid : null;
    }

    /** Database time the named lock was taken; null with {@link #key()}. */
    java.time.Instant since() {
        return key() == null ? null : since;
    }

    State state() {
        return state;
    }

    /** For /health and the log: {@code lock}, {@code heartbeat-only (why)}, or {@code lost (why)}. */
    String describe() {
        return switch (state) {
            case HELD -> "lock";
            case HEARTBEAT_ONLY -> "heartbeat-only (" + reason + ")";
            case STARTING, LOST -> "lost (" + reason + ")";
        };
    }

    /** The rerun delay recovery must keep after the lock of a worker is gone (see the class comment). */
    Duration rerunDelay() {
        return timeout;
    }

    /** Test hook: the backend pid holding the lock. */
    Integer backendPid() {
        return pid;
    }

    private void run() {
        while (!stopped && state != State.HEARTBEAT_ONLY) {
            var sentAt = System.nanoTime();
            if (state == State.HELD) {
                probe(sentAt);
            } else if (!jobsStopped && !serverDown) {
                decide();
            } else if (serverDown) {
                awaitServer();
            } else {
                acquire();
            }
            var sleep = probeNanos - (System.nanoTime() - sentAt);
            if (sleep > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(sleep);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private void probe(long sentAt) {
        var conn = connection;
        if (conn == null) {
            lose("liveness connection closed");
            return;
        }
        try (var statement = conn.prepareStatement("SELECT pg_backend_pid(), " + LOCK_HELD.formatted("?"))) {
            statement.setLong(1, key);
            try (var rs = statement.executeQuery()) {
                rs.next();
                var backend = rs.getInt(1);
                var held = rs.getBoolean(2);
                if (backend != pid) {
                    poolerDetected(backend);
                } else if (!held) {
                    lose("the lock is no longer held by backend " + pid);
                } else if (state == State.HELD) {
                    confirmedSentAt = Math.max(confirmedSentAt, sentAt);
                }
            }
        } catch (SQLException | RuntimeException e) {
            if (!stopped) {
                lose("liveness connection failed: " + Failures.brief(e));
            }
        }
    }

    private void acquire() {
        Connection conn = null;
        try {
            conn = dataSource.getConnection();
            conn.setAutoCommit(true);
            // A vanished client must end this session within seconds, or its lock (and its jobs) would be held
            // for the kernel's two hours. Session settings, so no server change is needed.
            try (var statement = conn.createStatement()) {
                statement.execute("SET tcp_keepalives_idle = 2; SET tcp_keepalives_interval = 1; "
                        + "SET tcp_keepalives_count = 3; SET tcp_user_timeout = "
                        + Math.max(1000, timeout.toMillis() * 5));
            }
            conn.setNetworkTimeout(Runnable::run, (int) Math.max(100, timeout.toMillis() / 2));
            long lockKey;
            int backend;
            boolean got;
            java.time.Instant startedAt;
            java.time.Instant takenAt;
            var sentAt = System.nanoTime();
            try (var statement = conn.prepareStatement(
                    "SELECT k, pg_try_advisory_lock(k), pg_backend_pid(), pg_postmaster_start_time(), now()"
                            + " FROM (SELECT hashtextextended(?, 0) AS k) s")) {
                statement.setString(1, "bisectbot-worker:" + workerId);
                try (var rs = statement.executeQuery()) {
                    rs.next();
                    lockKey = rs.getLong(1);
                    got = rs.getBoolean(2);
                    backend = rs.getInt(3);
                    startedAt = rs.getTimestamp(4).toInstant();
                    takenAt = rs.getTimestamp(5).toInstant();
                }
            }
            if (!got) {
                closeQuietly(conn);
                reason = "the lock of worker " + workerId + " is held by another session (an earlier session of "
                        + "this worker that the server has not yet ended, or another instance with the same WORKER_ID)";
                return;
            }
            if (mode == QueueProperties.LivenessMode.AUTO && !sameBackend(conn, backend)) {
                closeQuietly(conn);
                heartbeatOnly(
                        "statements of one connection run on different server sessions: a transaction-mode pooler");
                return;
            }
            synchronized (this) {
                if (stopped) {
                    closeQuietly(conn);
                    return;
                }
                connection = conn;
                key = lockKey;
                pid = backend;
                serverStartedAt = startedAt;
                since = takenAt;
                confirmedSentAt = sentAt;
                state = State.HELD;
                reason = "";
                jobsStopped = false;
                serverDown = false;
            }
            if (everHeld) {
                log.info("Liveness lock of worker {} held again (backend {})", workerId, backend);
            } else {
                log.info(
                        "Liveness lock of worker {} held by backend {}: a crash is seen by other instances at once",
                        workerId,
                        backend);
            }
            everHeld = true;
            listener.regained();
        } catch (SQLException | RuntimeException e) {
            closeQuietly(conn);
            reason = "could not take the liveness lock: " + Failures.brief(e);
        }
    }

    /** Cheap pooler detection: a few autocommit statements must all run on the backend that took the lock. */
    private static boolean sameBackend(Connection conn, int backend) throws SQLException {
        for (int i = 0; i < 3; i++) {
            try (var statement = conn.createStatement();
                    var rs = statement.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                if (rs.getInt(1) != backend) {
                    return false;
                }
            }
        }
        return true;
    }

    private void check() {
        if (state == State.HELD && System.nanoTime() - confirmedSentAt > stopAfterNanos) {
            lose("no liveness probe confirmed for " + TimeUnit.NANOSECONDS.toMillis(stopAfterNanos) + " ms");
        }
    }

    private void lose(String why) {
        synchronized (this) {
            if (state != State.HELD || stopped) {
                return;
            }
            state = State.LOST;
            reason = why;
            jobsStopped = false;
            serverDown = false;
        }
        log.warn(
                "Liveness lock of worker {} lost ({}); claiming nothing, asking whether the server is down",
                workerId,
                why);
        listener.suspended(why);
        // The session may linger on the server; closing ours is all we can do, and reacquiring waits for it to end.
        closePhysically();
    }

    /** Before the deadline: are the jobs safe (server down or restarted), or must they stop? */
    private void decide() {
        var deadline = confirmedSentAt + stopAfterNanos;
        var left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        var answer = serverProbe == null || left <= 0
                ? new ServerProbe.Answer.Unknown(
                        serverProbe == null ? "the pool's settings are unknown" : "deadline passed")
                : serverProbe.ask(left);
        switch (answer) {
            case ServerProbe.Answer.Down down -> {
                serverDown = true;
                log.warn(
                        "Database server of worker {} is down ({}); its running jobs go on: nobody can take them "
                                + "while it is down, and after a restart they get JOB_STALE_AFTER",
                        workerId,
                        down.why());
            }
            case ServerProbe.Answer.Up up when !up.startedAt().equals(serverStartedAt) -> keepAfterRestart(up);
            case ServerProbe.Answer.Up up -> stopJobs(reason + "; the server stayed up");
            case ServerProbe.Answer.Unknown unknown -> stopJobs(reason + "; " + unknown.why());
        }
    }

    /** The server was seen down: wait until it answers again, then decide as after any loss. */
    private void awaitServer() {
        var answer = serverProbe.ask(Math.max(1000, timeout.toMillis()));
        switch (answer) {
            case ServerProbe.Answer.Up up when !up.startedAt().equals(serverStartedAt) -> keepAfterRestart(up);
            case ServerProbe.Answer.Up up -> stopJobs(reason + "; the server answers again without a restart");
            case ServerProbe.Answer.Down down -> {}
            case ServerProbe.Answer.Unknown unknown -> {}
        }
    }

    private void keepAfterRestart(ServerProbe.Answer.Up up) {
        serverDown = false;
        jobsStopped = true; // nothing left to decide: the jobs go on and the lock is taken again
        log.info(
                "Database server of worker {} restarted at {}; its running jobs go on and the lock is taken again",
                workerId,
                up.startedAt());
        acquire();
    }

    private void stopJobs(String why) {
        serverDown = false;
        jobsStopped = true;
        log.warn(
                "Liveness lock of worker {} lost ({}); stopping its jobs before another instance may take them",
                workerId,
                why);
        listener.lost(why);
    }

    private void poolerDetected(int backend) {
        if (mode == QueueProperties.LivenessMode.ON) {
            lose("the probe ran on backend " + backend + ", not on " + pid + " that holds the lock");
            return;
        }
        synchronized (this) {
            if (state != State.HELD) {
                return;
            }
            state = State.LOST;
        }
        jobsStopped = true;
        listener.lost("a transaction-mode pooler was detected");
        closePhysically();
        heartbeatOnly("the probe ran on backend " + backend + ", not on " + pid + ": a transaction-mode pooler");
    }

    private void heartbeatOnly(String why) {
        state = State.HEARTBEAT_ONLY;
        reason = why;
        log.warn(
                "Liveness locks off for worker {} ({}): a crashed instance's jobs are taken back only after "
                        + "JOB_STALE_AFTER",
                workerId,
                why);
        listener.regained();
    }

    private void closePhysically() {
        Connection conn;
        synchronized (this) {
            conn = connection;
            connection = null;
        }
        if (conn == null) {
            return;
        }
        // Close the server session itself, not just a pool's proxy: a pooled connection returned with the lock still
        // held would keep this worker looking alive. HikariCP evicts an in-use connection at once (closing it
        // physically), without the warning it logs for a proxy whose connection was closed under it.
        try {
            var hikari = dataSource.isWrapperFor(com.zaxxer.hikari.HikariDataSource.class)
                    ? dataSource.unwrap(com.zaxxer.hikari.HikariDataSource.class)
                    : null;
            if (hikari != null) {
                hikari.evictConnection(conn);
                return;
            }
        } catch (SQLException | RuntimeException e) {
            // Fall back to closing it by hand.
        }
        try {
            conn.unwrap(org.postgresql.jdbc.PgConnection.class).close();
        } catch (SQLException | RuntimeException ignored) {
            // Broken already.
        }
        closeQuietly(conn);
    }

    private static void closeQuietly(Connection conn) {
        if (conn != null) {
            try {
                conn.close();
            } catch (SQLException | RuntimeException ignored) {
                // Closed under the pool's feet already (the pool may fail resetting a physically closed connection).
            }
        }
    }
}
