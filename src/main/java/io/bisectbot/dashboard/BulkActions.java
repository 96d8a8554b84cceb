package io.bisectbot.dashboard;

import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.JobReads;
import io.bisectbot.queue.JobStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Retry or cancel many jobs at once: the selected ones or everything a filter matches, at most {@link #MAX_JOBS} per
 * call. Each job goes through the same queue operation as a single retry or cancel, in its own transaction, so one
 * job that cannot be acted on does not stop the others, and each job's history names who acted.
 */
final class BulkActions {

    /** Most jobs one bulk action takes: enough for an incident, small enough to finish in a few seconds. */
    static final int MAX_JOBS = 1000;

    enum Action {
        RETRY,
        CANCEL;

        static Action parse(String value) {
            try {
                return valueOf(String.valueOf(value).trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'action' must be \"retry\" or \"cancel\", got "
                        + (value == null ? "nothing" : "'" + value + "'"));
            }
        }
    }

    /** What happened to one job: {@code retried}, {@code cancelled}, {@code cancel_requested}, or why it was skipped. */
    record Item(long id, String outcome, Long retry) {}

    /**
     * The answer: how many jobs were asked for, how many the action applies to (what a dry run counts, for the
     * confirmation), how many it changed, skipped (not in a state for it, or done already) and did not find.
     */
    record Answer(
            String action,
            boolean dryRun,
            int matched,
            int eligible,
            int done,
            int skipped,
            int missing,
            List<Item> jobs) {}

    private final JobQueue queue;
    private final JobReads reads;

    BulkActions(JobQueue queue, JobReads reads) {
        this.queue = queue;
        this.reads = reads;
    }

    Answer apply(Action action, List<Long> ids, boolean dryRun, String actor) {
        var eligible = action == Action.RETRY ? reads.retryable(ids) : reads.cancellable(ids);
        var found = reads.existing(ids);
        var missing = ids.size() - found;
        if (dryRun) {
            return new Answer(
                    label(action), true, ids.size(), eligible.size(), 0, found - eligible.size(), missing, List.of());
        }
        var items = new ArrayList<Item>();
        var done = 0;
        for (var id : eligible) {
            try {
                if (action == Action.RETRY) {
                    var retry = queue.retry(id, actor);
                    if (retry.isPresent() && retry.get().created()) {
                        done++;
                        items.add(new Item(id, "retried", retry.get().job().id()));
                    } else {
                        items.add(new Item(
                                id,
                                "already retried",
                                retry.map(r -> r.job().id()).orElse(null)));
                    }
                } else {
                    var job = queue.cancel(id, actor);
                    if (job.isPresent() && job.get().status() == JobStatus.CANCELLED) {
                        done++;
                        items.add(new Item(id, "cancelled", null));
                    } else if (job.isPresent() && job.get().status() == JobStatus.RUNNING) {
                        done++;
                        items.add(new Item(id, "cancel_requested", null));
                    } else {
                        items.add(new Item(
                                id,
                                job.map(j -> "already " + j.status().name().toLowerCase(Locale.ROOT))
                                        .orElse("not found"),
                                null));
                    }
                }
            } catch (IllegalStateException e) {
                // Its state changed since it was counted (e.g. it finished meanwhile).
                items.add(new Item(id, e.getMessage(), null));
            }
        }
        return new Answer(
                label(action), false, ids.size(), eligible.size(), done, ids.size() - missing - done, missing, items);
    }

    private static String label(Action action) {
        return action.name().toLowerCase(Locale.ROOT);
    }
}
