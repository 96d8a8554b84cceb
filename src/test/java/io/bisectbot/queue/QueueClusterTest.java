package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.fastProperties;
import static io.bisectbot.queue.QueueFixture.handler;
import static io.bisectbot.queue.QueueFixture.job;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class QueueClusterTest {

    @Test
    void three_instances_run_each_of_2000_jobs_exactly_once() {
        try (var fixture = new QueueFixture()) {
            var executions = new QueueFixture.Executions();
            var work = handler("work", context -> {
                executions.record(context.jobId());
                return JobOutcome.succeeded(null);
            });
            var nodes = IntStream.range(0, 3)
                    .mapToObj(i -> fixture.node(fastProperties("node-" + i).withMaxConcurrentJobs(8), work))
                    .toList();
            nodes.forEach(QueueNode::start);

            var ids = new ArrayList<Long>();
            for (int batch = 0; batch < 4; batch++) {
                ids.addAll(nodes.get(batch % 3)
                        .queue()
                        .enqueueAll(IntStream.range(0, 500)
                                .mapToObj(i -> job("work"))
                                .toList()));
            }
            assertThat(ids).hasSize(2000).doesNotHaveDuplicates();

            await().atMost(Duration.ofSeconds(60))
                    .until(() -> nodes.getFirst().queue().stats().completed() == 2000);
            assertThat(executions.byJob).hasSize(2000);
            assertThat(ids)
                    .allSatisfy(id -> assertThat(executions.of(id))
                            .as("executions of job %d", id)
                            .isEqualTo(1));
            var stats = nodes.getFirst().queue().stats();
            assertThat(stats.pending() + stats.running() + stats.failed()).isZero();
            var perWorker = fixture.sql
                    .sql("SELECT count(DISTINCT worker_id) FROM jobs")
                    .query(Long.class)
                    .single();
            assertThat(perWorker).as("work spread over the instances").isEqualTo(3);
        }
    }

    @Test
    void an_instance_claims_no_more_jobs_than_its_free_slots() {
        try (var fixture = new QueueFixture()) {
            var gate = new java.util.concurrent.CountDownLatch(1);
            var node = fixture.node(fastProperties("small").withMaxConcurrentJobs(2), handler("block", context -> {
                gate.await();
                return JobOutcome.succeeded(null);
            }));
            node.queue()
                    .enqueueAll(
                            IntStream.range(0, 5).mapToObj(i -> job("block")).toList());
            node.start();
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> node.queue().stats().running() == 2);
            assertThat(node.queue().stats().pending()).isEqualTo(3);
            gate.countDown();
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> node.queue().stats().completed() == 5);
        }
    }
}
