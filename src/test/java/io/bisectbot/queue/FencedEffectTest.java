package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.fastProperties;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.node.JsonNodeFactory;

/** The {@code fenced-effect} kind: one effect row per job, never one from an attempt that lost its job. */
class FencedEffectTest {

    private final QueueFixture fixture = new QueueFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    private static NewJob effect(long millis) {
        return NewJob.of("fenced-effect", JsonNodeFactory.instance.objectNode().put("millis", millis));
    }

    private List<String> effectsOf(long id) {
        return fixture.sql
                .sql(
                        "SELECT worker_id || '#' || attempt FROM job_events WHERE job_id = :id AND type = 'effect' ORDER BY id")
                .param("id", id)
                .query(String.class)
                .list();
    }

    @Test
    void a_job_stores_its_effect_once_and_succeeds() {
        var node = fixture.node(fastProperties("one"), BuiltinHandlers.fencedEffect(fixture.admin));
        var id = node.queue().enqueue(effect(10)).job().id();
        node.start();

        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.SUCCEEDED);
        assertThat(effectsOf(id)).containsExactly("one#1");
    }

    @Test
    void an_attempt_after_a_stored_effect_succeeds_without_a_second_one() {
        var node = fixture.node(fastProperties("two"), BuiltinHandlers.fencedEffect(fixture.admin));
        var id = node.queue().enqueue(effect(10)).job().id();
        // What an instance that died between the effect and the job's completion leaves behind.
        fixture.sql
                .sql(
                        "INSERT INTO job_events (job_id, at, type, worker_id, attempt) VALUES (:id, now(), 'effect', 'dead', 1)")
                .param("id", id)
                .update();
        node.start();

        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.SUCCEEDED);
        assertThat(effectsOf(id)).containsExactly("dead#1");
    }

    @Test
    void an_attempt_that_lost_its_job_while_it_worked_stores_nothing() {
        var frozen = fixture.node(fastProperties("frozen"), BuiltinHandlers.fencedEffect(fixture.admin));
        var id = frozen.queue().enqueue(effect(4000)).job().id();
        frozen.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.RUNNING);
        frozen.pauseHeartbeats(true);
        // The frozen attempt wakes up first and tries to store its effect after the job was taken from it.
        var healthy = fixture.node(fastProperties("healthy"), BuiltinHandlers.fencedEffect(fixture.admin));
        healthy.start();

        await().atMost(Duration.ofSeconds(20)).until(() -> fixture.status(id) == JobStatus.SUCCEEDED);
        assertThat(effectsOf(id)).containsExactly("healthy#2");
    }
}
