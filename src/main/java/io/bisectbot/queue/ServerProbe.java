package io.bisectbot.queue;

import com.zaxxer.hikari.HikariDataSource;
import java.net.ConnectException;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;

/**
 * Asks the database server, on a connection of its own (never the pool's, whose waits would hide the answer), whether
 * it is down and when it last started. {@link LivenessLock} uses the answer after losing its session to tell a
 * server restart (nobody can take jobs while the server is down, and after it the heartbeat rule applies) from a
 * session lost while the server stayed up (another instance may take the jobs at once).
 */
final class ServerProbe {

    sealed interface Answer {
        /** The server answered; {@code startedAt} is {@code pg_postmaster_start_time()}. */
        record Up(Instant startedAt) implements Answer {}

        /** The server's host refused the connection, or the server said it is starting up or shutting down. */
        record Down(String why) implements Answer {}

        /** No clear answer in time (a cut network looks like this): assume others may reach the server. */
        record Unknown(String why) implements Answer {}
    }

    private final String url;
    private final Properties properties = new Properties();

    private ServerProbe(String url, String user, String password, Properties extra) {
        this.url = url;
        properties.putAll(extra);
        if (user != null) {
            properties.setProperty("user", user);
        }
        if (password != null) {
            properties.setProperty("password", password);
        }
    }

    /** A probe for the pool's server, or null when the pool's settings cannot be read (then: always unknown). */
    static ServerProbe of(DataSource dataSource) {
        try {
            var hikari = dataSource.unwrap(HikariDataSource.class);
            if (hikari.getJdbcUrl() == null) {
                return null;
            }
            return new ServerProbe(
                    hikari.getJdbcUrl(), hikari.getUsername(), hikari.getPassword(), hikari.getDataSourceProperties());
        } catch (SQLException e) {
            return null;
        }
    }

    /** Asks once, waiting at most {@code timeoutMillis}. */
    Answer ask(long timeoutMillis) {
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            var future = executor.submit(this::askNow);
            try {
                return future.get(Math.max(1, timeoutMillis), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                future.cancel(true);
                return new Answer.Unknown("no answer within " + timeoutMillis + " ms");
            } catch (ExecutionException e) {
                return new Answer.Unknown(Failures.brief(e.getCause()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new Answer.Unknown("interrupted");
            }
        }
    }

    private Answer askNow() {
        try (var connection = DriverManager.getConnection(url, properties);
                var statement = connection.createStatement();
                var rs = statement.executeQuery("SELECT pg_postmaster_start_time()")) {
            rs.next();
            return new Answer.Up(rs.getTimestamp(1).toInstant());
        } catch (SQLException e) {
            return classify(e);
        }
    }

    /** Only answers that prove the server itself is not serving count as down. */
    static Answer classify(SQLException e) {
        var state = e.getSQLState() == null ? "" : e.getSQLState();
        // 57P03 cannot_connect_now: starting up, shutting down, in recovery; 57P01: terminated by a shutdown.
        if (state.equals("57P03") || state.equals("57P01")) {
            return new Answer.Down(e.getMessage());
        }
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof ConnectException
                    && String.valueOf(cause.getMessage()).contains("refused")) {
                return new Answer.Down("connection refused: " + cause.getMessage());
            }
        }
        return new Answer.Unknown(Failures.brief(e));
    }
}
