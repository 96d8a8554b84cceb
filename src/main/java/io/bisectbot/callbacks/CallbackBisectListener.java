package io.bisectbot.callbacks;

import io.bisectbot.bisect.BisectListener;
import io.bisectbot.bisect.BisectProgress;
import io.bisectbot.bisect.BisectRequest;
import io.bisectbot.bisect.BisectResult;
import io.bisectbot.queue.JobContext;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A bisect job's {@code progress} events: one when it starts, and one per search round with that round's verdicts.
 * They go through the outbox like every event, so a round's event is delivered even if the instance dies after it.
 */
final class CallbackBisectListener implements BisectListener {

    private static final Logger log = LoggerFactory.getLogger(CallbackBisectListener.class);

    private final Callbacks callbacks;

    CallbackBisectListener(Callbacks callbacks) {
        this.callbacks = callbacks;
    }

    @Override
    public void started(JobContext job, BisectRequest request) {
        callbacks.progress(job.jobId(), JsonNodeFactory.instance.objectNode().put("stage", "started"));
    }

    @Override
    public void finished(JobContext job, BisectRequest request, BisectResult result, String report) {
        // The job's end is its own event, written with the job's final state.
    }

    /** Rounds are told only to a job that has a callback asking for progress: no write per round otherwise. */
    @Override
    public BisectProgress progress(JobContext job) {
        if (!callbacks.wants(job.jobId(), "progress")) {
            return BisectProgress.NONE;
        }
        return new BisectProgress() {
            @Override
            public void roundEnded(Round round) {
                try {
                    callbacks.progress(job.jobId(), detail(round));
                } catch (RuntimeException e) {
                    // The bisection goes on: a progress event is worth less than its answer.
                    log.warn(
                            "Job {}: the progress event of round {} could not be stored: {}",
                            job.jobId(),
                            round.round(),
                            e.getMessage());
                }
            }
        };
    }

    /** The {@code progress} of a round's event (docs/callbacks.md shows it). */
    static ObjectNode detail(BisectProgress.Round round) {
        var detail = JsonNodeFactory.instance
                .objectNode()
                .put("stage", "round")
                .put("round", round.round())
                .put("candidates_left", round.commitsLeft())
                .put("rounds_left", round.roundsToGo());
        var tested = detail.putArray("tested");
        for (var commit : round.tested()) {
            tested.addObject()
                    .put("commit", commit.commit().sha())
                    .put("subject", commit.commit().subject())
                    .put(
                            "verdict",
                            commit.verdict() == null
                                    ? null
                                    : commit.verdict().name().toLowerCase(Locale.ROOT))
                    .put("passes", commit.passes())
                    .put("failures", commit.failures());
        }
        return detail;
    }
}
