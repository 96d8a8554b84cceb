package io.bisectbot.executor;

import io.bisectbot.crypto.Column;
import io.bisectbot.crypto.Encryption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Step output in PostgreSQL ({@code step_logs}). Sinks batch appends and write them every
 * {@link #FLUSH_INTERVAL} or once {@link #FLUSH_BYTES} are pending, one INSERT per batch, so a chatty
 * step costs a few statements per second, not one per line. All SQL about logs lives here.
 */
public final class StepLogRepository implements AutoCloseable {

    static final Duration FLUSH_INTERVAL = Duration.ofMillis(200);
    static final int FLUSH_BYTES = 64 * 1024;
    private static final Logger log = LoggerFactory.getLogger(StepLogRepository.class);

    private final JdbcClient jdbc;
    private final Clock clock;
    private final Encryption encryption;
    private final Set<BufferedSink> open = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService flusher;

    public StepLogRepository(JdbcClient jdbc, Clock clock) {
        this(jdbc, clock, Encryption.none());
    }

    /** Every chunk's content is sealed with {@code encryption}. */
    public StepLogRepository(JdbcClient jdbc, Clock clock, Encryption encryption) {
        this.jdbc = jdbc;
        this.clock = clock;
        this.encryption = encryption;
        this.flusher = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("step-log-flusher").factory());
        flusher.scheduleWithFixedDelay(
                this::flushAll, FLUSH_INTERVAL.toMillis(), FLUSH_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** A sink appending after any chunks already stored for this job and step (e.g. by an earlier attempt). */
    public LogSink openSink(long jobId, String step, int attempt) {
        int next = jdbc.sql("SELECT coalesce(max(seq) + 1, 0) FROM step_logs WHERE job_id = :jobId AND step = :step")
                .param("jobId", jobId)
                .param("step", step)
                .query(Integer.class)
                .single();
        var sink = new BufferedSink(jobId, step, attempt, next);
        open.add(sink);
        return sink;
    }

    /** Chunks with {@code seq >= fromSeq} in order; pass the last seq + 1 to follow a running step. */
    public List<LogChunk> read(long jobId, String step, int fromSeq, int limit) {
        return jdbc.sql("""
                        SELECT job_id, step, seq, attempt, stream, content, at
                          FROM step_logs
                         WHERE job_id = :jobId AND step = :step AND seq >= :fromSeq
                         ORDER BY seq
                         LIMIT :limit
                        """)
                .param("jobId", jobId)
                .param("step", step)
                .param("fromSeq", fromSeq)
                .param("limit", limit)
                .query((rs, row) -> new LogChunk(
                        rs.getLong("job_id"),
                        rs.getString("step"),
                        rs.getInt("seq"),
                        rs.getInt("attempt"),
                        LogStream.valueOf(rs.getString("stream")),
                        encryption.openText(Column.STEP_LOG, rs.getString("content")),
                        rs.getTimestamp("at").toInstant()))
                .list();
    }

    /** A step that has stored output: its name, chunk count, next seq to read and when it began. */
    public record StepLogInfo(String step, int chunks, int nextSeq, Instant startedAt) {}

    /** The steps of a job that have output, in the order they started. */
    public List<StepLogInfo> steps(long jobId) {
        return jdbc.sql("""
                        SELECT step, count(*) AS chunks, max(seq) + 1 AS next_seq, min(at) AS started_at
                          FROM step_logs
                         WHERE job_id = :jobId
                         GROUP BY step
                         ORDER BY min(at), step
                        """)
                .param("jobId", jobId)
                .query((rs, row) -> new StepLogInfo(
                        rs.getString("step"),
                        rs.getInt("chunks"),
                        rs.getInt("next_seq"),
                        rs.getTimestamp("started_at").toInstant()))
                .list();
    }

    /** The whole stored output of a step as one string (for small logs and tests). */
    public String readAll(long jobId, String step) {
        return String.join(
                "",
                jdbc.sql("SELECT content FROM step_logs WHERE job_id = :jobId AND step = :step ORDER BY seq")
                        .param("jobId", jobId)
                        .param("step", step)
                        .query((rs, row) -> encryption.openText(Column.STEP_LOG, rs.getString(1)))
                        .list());
    }

    private void insert(long jobId, String step, int attempt, List<Pending> batch) {
        // One statement per batch: arrays unnested server-side keep it a single round trip.
        int[] seqs = new int[batch.size()];
        String[] streams = new String[batch.size()];
        String[] contents = new String[batch.size()];
        String[] ats = new String[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            Pending p = batch.get(i);
            seqs[i] = p.seq();
            streams[i] = p.stream().name();
            contents[i] = encryption.sealText(Column.STEP_LOG, p.text().toString());
            ats[i] = p.at().toString();
        }
        // Positional parameters: named ones would expand arrays into value lists.
        jdbc.sql("""
                        INSERT INTO step_logs (job_id, step, seq, attempt, stream, content, at)
                        SELECT ?, ?, t.seq, ?, t.stream, t.content, t.at
                          FROM unnest(?::integer[], ?::text[], ?::text[], ?::timestamptz[]) AS t(seq, stream, content, at)
                        """).params(jobId, step, attempt, seqs, streams, contents, ats).update();
    }

    private void flushAll() {
        for (BufferedSink sink : open) {
            try {
                sink.flush();
            } catch (RuntimeException e) {
                log.warn("Could not store logs of job {} step {}", sink.jobId, sink.step, e);
            }
        }
    }

    @Override
    public void close() {
        flusher.shutdownNow();
        flushAll();
    }

    private record Pending(int seq, LogStream stream, StringBuilder text, Instant at) {}

    private final class BufferedSink implements LogSink {
        private final long jobId;
        private final String step;
        private final int attempt;
        private int nextSeq;
        private List<Pending> pending = new ArrayList<>();
        private int pendingBytes;
        // Writes stay in seq order even when the timer and a full buffer flush at once.
        private final ReentrantLock writing = new ReentrantLock();

        BufferedSink(long jobId, String step, int attempt, int firstSeq) {
            this.jobId = jobId;
            this.step = step;
            this.attempt = attempt;
            this.nextSeq = firstSeq;
        }

        @Override
        public void append(LogStream stream, String text) {
            boolean full;
            synchronized (this) {
                Pending last = pending.isEmpty() ? null : pending.getLast();
                // Consecutive output of one stream becomes one row, up to the batch size.
                if (last != null && last.stream() == stream && last.text().length() + text.length() <= FLUSH_BYTES) {
                    last.text().append(text);
                } else {
                    pending.add(new Pending(nextSeq++, stream, new StringBuilder(text), clock.instant()));
                }
                pendingBytes += text.length();
                full = pendingBytes >= FLUSH_BYTES;
            }
            if (full) {
                flush();
            }
        }

        @Override
        public void flush() {
            writing.lock();
            try {
                List<Pending> batch;
                synchronized (this) {
                    if (pending.isEmpty()) {
                        return;
                    }
                    batch = pending;
                    pending = new ArrayList<>();
                    pendingBytes = 0;
                }
                insert(jobId, step, attempt, batch);
            } finally {
                writing.unlock();
            }
        }

        @Override
        public void close() {
            try {
                flush();
            } finally {
                open.remove(this);
            }
        }
    }
}
