package io.bisectbot.executor;

/**
 * Container labels through which the reaper finds and judges our containers, and volume labels of dependency caches
 * (the reaper lists containers only, so it never removes a cache volume).
 */
final class Labels {
    static final String MANAGED = "bisectbot.managed";
    static final String JOB_ID = "bisectbot.job-id";
    static final String WORKER_ID = "bisectbot.worker-id";
    static final String ATTEMPT = "bisectbot.attempt";
    static final String STEP = "bisectbot.step";
    /** On a parked container that may serve any job of its shape: the executor that keeps it (no job labels). */
    static final String STANDBY = "bisectbot.standby";

    static final String CACHE = "bisectbot.cache";
    static final String CACHE_SCOPE = "bisectbot.cache-scope";
    static final String CACHE_PATH = "bisectbot.cache-path";

    private Labels() {}
}
