package io.bisectbot;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.bench.ChaosBenchmark;
import org.junit.jupiter.api.Test;

/**
 * The short chaos run: three instances of the packaged jar on one PostgreSQL and Docker take a few hundred jobs
 * (sleep, bisect in containers, fenced effects) through one SIGKILL, one SIGSTOP past stale-after, a PostgreSQL
 * restart, a Docker engine outage, and a clock 5 minutes ahead on one of them. The full run is
 * {@link ChaosBenchmark}'s main (docs/BENCHMARKS.md, "Chaos").
 */
class ChaosProcessIT {

    @Test
    void three_instances_through_kills_a_freeze_and_outages_lose_no_job_and_store_no_effect_twice() throws Exception {
        var report = ChaosBenchmark.run(ChaosBenchmark.Options.quick());
        System.out.print(report.text());

        assertThat(report.accepted()).as(report.text()).isEqualTo(report.jobs());
        assertThat(report.lost()).as("jobs lost%n%s", report.text()).isZero();
        assertThat(report.allFinished())
                .as("every job succeeded%n%s", report.text())
                .isTrue();
        assertThat(report.doubledEffects())
                .as("effects stored twice%n%s", report.text())
                .isZero();
        assertThat(report.missingEffects())
                .as("effects missing%n%s", report.text())
                .isZero();
        assertThat(report.doubledCompletions())
                .as("jobs completed twice%n%s", report.text())
                .isZero();
        assertThat(report.takenFromLiveInstances())
                .as("jobs taken from live instances%n%s", report.text())
                .isZero();
        assertThat(report.clockOffsetMillis())
                .as("the skewed instance measured its clock")
                .isBetween(-302_000L, -298_000L);
        assertThat(report.requests().failed())
                .as("requests failed outside the faults%n%s", report.text())
                .isZero();
    }
}
