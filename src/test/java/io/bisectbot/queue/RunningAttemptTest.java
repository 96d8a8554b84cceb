package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.job;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link JobQueue#isRunning} and {@link JobQueue#isWorkerAlive}: what the executor's orphan reaper asks before it
 * removes a step container or a standby one.
 */
class RunningAttemptTest {

    private final QueueFixture fixture = new QueueFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void only_the_running_attempt_of_a_live_worker_is_running() {
        var queue = fixture.queue("work");
        var id = queue.enqueue(job("work")).job().id();
        fixture.sql.sql("""
                INSERT INTO workers (id, started_at, heartbeat_at, state, version, max_concurrent_jobs)
                VALUES ('w-live', now(), now(), 'RUNNING', 'test', 4), ('w-dead', now(), now(), 'STOPPED', 'test', 4)
                """).update();
        fixture.sql
                .sql("UPDATE jobs SET status = 'RUNNING', worker_id = 'w-live', attempt_count = 2 WHERE id = ?")
                .param(id)
                .update();

        assertThat(queue.isRunning(id, "w-live", 2)).isTrue();
        assertThat(queue.isRunning(id, "w-live", 1)).isFalse();
        assertThat(queue.isRunning(id, "w-other", 2)).isFalse();
        assertThat(queue.isRunning(id + 1000, "w-live", 2)).isFalse();

        fixture.sql
                .sql("UPDATE jobs SET worker_id = 'w-dead' WHERE id = ?")
                .param(id)
                .update();
        assertThat(queue.isRunning(id, "w-dead", 2)).isFalse();

        fixture.sql
                .sql("UPDATE jobs SET worker_id = 'w-live', status = 'CANCELLED' WHERE id = ?")
                .param(id)
                .update();
        assertThat(queue.isRunning(id, "w-live", 2)).isFalse();
    }

    @Test
    void a_worker_is_alive_until_it_is_marked_stopped() {
        var queue = fixture.queue("work");
        fixture.sql.sql("""
                INSERT INTO workers (id, started_at, heartbeat_at, state, version, max_concurrent_jobs)
                VALUES ('w-live', now(), now(), 'RUNNING', 'test', 4), ('w-dead', now(), now(), 'STOPPED', 'test', 4)
                """).update();

        assertThat(queue.isWorkerAlive("w-live")).isTrue();
        assertThat(queue.isWorkerAlive("w-dead")).isFalse();
        assertThat(queue.isWorkerAlive("w-unknown")).isFalse();
    }
}
