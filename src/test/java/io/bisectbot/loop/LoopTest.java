package io.bisectbot.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LoopTest {

    @Test
    void a_task_runs_every_interval_and_at_once_again_while_it_reports_more_work() {
        var runs = new AtomicInteger();
        var loop = new Loop("test", Duration.ofHours(1), () -> runs.incrementAndGet() < 5);
        loop.start();
        try {
            await().atMost(Duration.ofSeconds(5)).until(() -> runs.get() == 5);
            assertThat(loop.isRunning()).isTrue();
        } finally {
            loop.stop();
        }
        assertThat(loop.isRunning()).isFalse();
    }

    @Test
    void the_first_run_waits_for_the_initial_delay() throws InterruptedException {
        var runs = new AtomicInteger();
        var loop =
                Loop.every("test", Duration.ofMillis(10), runs::incrementAndGet).withInitialDelay(Duration.ofHours(1));
        loop.start();
        Thread.sleep(200);
        loop.stop();
        assertThat(runs).hasValue(0);
    }

    @Test
    void a_failing_task_is_retried_with_growing_delays_and_recovers() {
        var times = new CopyOnWriteArrayList<Long>();
        var loop = new Loop("test", Duration.ofMillis(20), () -> {
                    times.add(System.nanoTime());
                    if (times.size() <= 5) {
                        throw new IllegalStateException("database down");
                    }
                    return false;
                })
                .maxBackoff(Duration.ofSeconds(10));
        loop.start();
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> times.size() >= 7);
        } finally {
            loop.stop();
        }
        // After the 4th failure the delay is at least half of 8 intervals (jitter 50-100%): longer than the first.
        assertThat(millis(times, 4)).isGreaterThanOrEqualTo(80);
        assertThat(millis(times, 4)).isGreaterThan(millis(times, 0));
    }

    @Test
    void a_stopped_loop_stops_even_in_a_long_backoff() {
        var loop = new Loop("test", Duration.ofHours(1), () -> {
            throw new IllegalStateException("down");
        });
        loop.start();
        var started = System.nanoTime();
        loop.stop();
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        assertThat(loop.isRunning()).isFalse();
    }

    @Test
    void a_stop_lets_a_running_task_finish_instead_of_interrupting_it() throws InterruptedException {
        // An interrupted virtual thread closes the socket it reads: a database connection would be left broken.
        var running = new CountDownLatch(1);
        var interrupted = new AtomicBoolean();
        var finished = new AtomicBoolean();
        var loop = Loop.every("test", Duration.ofHours(1), () -> {
            running.countDown();
            try {
                Thread.sleep(300);
                finished.set(true);
            } catch (InterruptedException e) {
                interrupted.set(true);
            }
        });
        loop.start();
        running.await();
        loop.stop();
        assertThat(interrupted).isFalse();
        assertThat(finished).isTrue();
        assertThat(loop.isRunning()).isFalse();
    }

    @Test
    void the_contexts_stop_returns_at_once_and_calls_back_when_the_running_task_has_finished()
            throws InterruptedException {
        var running = new CountDownLatch(1);
        var finished = new AtomicBoolean();
        var loop = Loop.every("test", Duration.ofHours(1), () -> {
            running.countDown();
            try {
                Thread.sleep(500);
                finished.set(true);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        loop.start();
        running.await();
        var stopped = new CountDownLatch(1);
        var asked = System.nanoTime();

        loop.stop(stopped::countDown);

        // Spring stops the loops of a phase one after the other: each returns at once, so they wind down together.
        assertThat(Duration.ofNanos(System.nanoTime() - asked)).isLessThan(Duration.ofMillis(300));
        assertThat(loop.isRunning()).isFalse();
        assertThat(stopped.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(finished).isTrue();
    }

    @Test
    void loops_stopped_together_wind_down_at_once_and_a_halted_one_is_interrupted() throws InterruptedException {
        var running = new CountDownLatch(3);
        var interrupted = new CopyOnWriteArrayList<String>();
        var loops = new ArrayList<Loop>();
        for (var name : List.of("a", "b", "c")) {
            var loop = Loop.every(name, Duration.ofHours(1), () -> {
                running.countDown();
                try {
                    Thread.sleep(name.equals("c") ? 10_000 : 700);
                } catch (InterruptedException e) {
                    interrupted.add(name);
                }
            });
            loops.add(loop);
            loop.start();
        }
        running.await();
        var asked = System.nanoTime();

        loops.get(2).halt();
        Loop.stopTogether(loops.get(0), loops.get(1));

        // One task's time, not two: each was told before any was waited for.
        assertThat(Duration.ofNanos(System.nanoTime() - asked)).isLessThan(Duration.ofMillis(1_300));
        assertThat(interrupted).containsExactly("c");
        assertThat(loops).noneMatch(Loop::isRunning);
    }

    @Test
    void a_loop_started_again_right_after_a_stop_never_runs_its_task_twice_at_once() throws InterruptedException {
        var inTask = new AtomicInteger();
        var most = new AtomicInteger();
        var runs = new AtomicInteger();
        var loop = Loop.every("test", Duration.ofMillis(10), () -> {
            most.accumulateAndGet(inTask.incrementAndGet(), Math::max);
            runs.incrementAndGet();
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                inTask.decrementAndGet();
            }
        });
        loop.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> inTask.get() == 1);

        loop.stop(() -> {});
        loop.start();

        await().atMost(Duration.ofSeconds(5)).until(() -> runs.get() >= 3);
        loop.stop();
        assertThat(most).hasValue(1);
    }

    @Test
    void the_backoff_doubles_from_its_base_up_to_its_cap_with_jitter() {
        var backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(10), new Random(7));
        for (int attempt = 1; attempt <= 40; attempt++) {
            var capped = Math.min(10_000L, 1_000L << Math.min(attempt - 1, 30));
            assertThat(backoff.afterAttempt(attempt).toMillis()).isBetween(capped / 2, capped);
        }
        assertThat(new Backoff(Duration.ofDays(1), Duration.ofDays(3650)).afterAttempt(60))
                .isPositive();
    }

    private static long millis(List<Long> times, int gap) {
        return (times.get(gap + 1) - times.get(gap)) / 1_000_000;
    }
}
