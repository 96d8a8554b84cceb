package io.bisectbot.executor;

/** Container labels through which the reaper finds and judges our containers. */
final class Labels {
    static final String MANAGED = "bisectbot.managed";
    static final String JOB_ID = "bisectbot.job-id";
    static final String WORKER_ID = "bisectbot.worker-id";
    static final String ATTEMPT = "bisectbot.attempt";
    static final String STEP = "bisectbot.step";

    private Labels() {}
}
