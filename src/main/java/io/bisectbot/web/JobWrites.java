package io.bisectbot.web;

import io.bisectbot.queue.Job;
import java.util.List;

/**
 * What a job wrote outside the service (its comment, check run and pull request on GitHub), with a link to each, for
 * the job's page and {@code GET /job/{id}}. Implemented by the package that makes the writes, so the pages need not
 * know it.
 */
public interface JobWrites {

    /**
     * One write.
     *
     * @param type  {@code comment}, {@code check_run} or {@code pull_request}
     * @param state {@code delivered}, {@code pending} (not written yet, or being retried) or {@code failed} (given up)
     * @param url   where it can be seen; null while it is not delivered
     * @param id    the id the other side gave it (null when not known)
     */
    record Write(String type, String state, String url, Long id) {}

    List<Write> of(Job job);
}
