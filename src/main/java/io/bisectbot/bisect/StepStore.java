package io.bisectbot.bisect;

import java.time.Duration;
import java.util.List;

/** Persists every finished run so that a resumed job runs none of them again. */
public interface StepStore {

    /** Runs stored for this job, in the order they were recorded. */
    List<Run> load();

    void record(Run run);

    /**
     * One finished run.
     *
     * @param verdict null when the run says nothing about the commit (infrastructure error, cancelled)
     */
    record Run(String commit, int runIndex, Purpose purpose, StepResult result, Verdict verdict, Duration duration) {}

    /** A store that keeps nothing, for jobs that need no resume. */
    static StepStore none() {
        return new StepStore() {
            @Override
            public List<Run> load() {
                return List.of();
            }

            @Override
            public void record(Run run) {}
        };
    }
}
