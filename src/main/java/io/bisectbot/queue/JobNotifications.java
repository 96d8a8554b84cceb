package io.bisectbot.queue;

import io.bisectbot.loop.Backoff;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listens on PostgreSQL channels so an idle worker reacts within milliseconds: {@code bisectbot_jobs} (jobs were
 * enqueued or released) and {@code bisectbot_cancel} (payload: a job id to stop). Only a shortcut: the worker polls
 * and heartbeats carry cancel requests, so a dropped connection or notification costs latency, never correctness.
 */
final class JobNotifications {

    private static final Backoff RECONNECT = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(10));

    private static final Logger log = LoggerFactory.getLogger(JobNotifications.class);

    private final DataSource dataSource;
    private final Worker worker;
    private final Thread thread;
    private volatile boolean stopped;
    private volatile Connection connection;

    JobNotifications(DataSource dataSource, Worker worker, String workerId) {
        this.dataSource = dataSource;
        this.worker = worker;
        this.thread = Thread.ofPlatform().name("listener-" + workerId).daemon().unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    void stop() {
        stopped = true;
        thread.interrupt();
        closeQuietly();
    }

    private void run() {
        var failures = 0;
        while (!stopped) {
            try (var conn = dataSource.getConnection()) {
                connection = conn;
                try (var statement = conn.createStatement()) {
                    statement.execute("LISTEN bisectbot_jobs");
                    statement.execute("LISTEN bisectbot_cancel");
                }
                conn.setAutoCommit(true);
                failures = 0;
                worker.wake(); // anything enqueued while we were not listening
                var pg = conn.unwrap(PGConnection.class);
                while (!stopped) {
                    var notifications = pg.getNotifications(500);
                    if (notifications == null) {
                        continue;
                    }
                    for (var notification : notifications) {
                        if ("bisectbot_cancel".equals(notification.getName())) {
                            try {
                                worker.requestCancel(Long.parseLong(notification.getParameter()));
                            } catch (NumberFormatException ignored) {
                                // Not one of ours.
                            }
                        } else {
                            worker.wake();
                        }
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (stopped) {
                    return;
                }
                var retry = RECONNECT.afterAttempt(++failures);
                log.warn(
                        "Lost the notification connection (polling meanwhile; reconnecting in {} ms): {}",
                        retry.toMillis(),
                        Failures.brief(e));
                try {
                    Thread.sleep(retry);
                } catch (InterruptedException interrupted) {
                    return;
                }
            } finally {
                connection = null;
            }
        }
    }

    private void closeQuietly() {
        var conn = connection;
        if (conn != null) {
            try {
                conn.close();
            } catch (SQLException ignored) {
                // Closing only to unblock the listener thread.
            }
        }
    }
}
