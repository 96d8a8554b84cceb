package io.bisectbot.github;

import io.bisectbot.web.ShareLinks;
import java.time.Clock;
import java.time.Instant;
import java.util.Locale;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * What a job tells GitHub. Each method only writes outbox rows, in the caller's transaction when there is one, and
 * is idempotent: its rows are keyed by the job (or comment), so calling it twice, or from a retried attempt, has one
 * effect. Any instance delivers the rows afterwards, retrying until GitHub has them.
 */
public final class GithubReports {

    /** GitHub's comment body limit, in characters. */
    static final int COMMENT_LIMIT = 65_536;
    /** GitHub's check run summary limit, in characters. */
    static final int SUMMARY_LIMIT = 65_535;

    /** How a job ended, as a check run conclusion. */
    public enum Conclusion {
        SUCCESS,
        FAILURE,
        NEUTRAL,
        CANCELLED,
        TIMED_OUT,
        ACTION_REQUIRED;

        String api() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Outbox outbox;
    private final Clock clock;
    private final String publicUrl;
    private final String checkName;
    private final ShareLinks shareLinks;

    GithubReports(Outbox outbox, Clock clock, String publicUrl, String checkName, ShareLinks shareLinks) {
        this.outbox = outbox;
        this.clock = clock;
        this.publicUrl = publicUrl;
        this.checkName = checkName;
        this.shareLinks = shareLinks;
    }

    /**
     * The link to a job's report. Signed (readable without a token until it expires) only for a repository known to
     * be public, whose report may be read by anyone who can read the thread; otherwise a token is needed.
     */
    String reportUrl(long jobId, GithubRef ref) {
        var url = publicUrl + "/job/" + jobId + "/report";
        if (ref.privateRepository()) {
            return url;
        }
        return shareLinks
                .token(jobId)
                .map(token -> url + "?" + ShareLinks.PARAMETER + "=" + token)
                .orElse(url);
    }

    /** The command was accepted: 👀 on its comment. */
    public void commandAccepted(GithubRef ref) {
        if (ref.commentId() != null) {
            reaction("reaction:eyes:" + ref.owner() + "/" + ref.repo() + ":" + ref.commentId(), ref, "eyes");
        }
    }

    /** The job started: 🚀 on its comment, and an in-progress check run on the head commit when it is known. */
    public void jobStarted(long jobId, GithubRef ref) {
        if (ref.commentId() != null) {
            reaction("reaction:rocket:job:" + jobId, ref, "rocket");
        }
        if (ref.headSha() != null) {
            createCheckRun(jobId, ref, checkName, "in_progress");
        }
    }

    /** A bot task was enqueued: its check run appears on the head commit as queued. */
    public void taskQueued(long jobId, GithubRef ref, String name) {
        createCheckRun(jobId, ref, name, "queued");
    }

    /** A bot task started: its own check run ({@code name}), in progress on the head commit. */
    public void taskStarted(long jobId, GithubRef ref, String name) {
        // Created in progress when it was not created queued; else moved to in progress once it exists.
        var create = createCheckRun(jobId, ref, name, "in_progress");
        var request = base(ref)
                .put("status", "in_progress")
                .put("started_at", clock.instant().toString())
                .put("name", name)
                .put("head_sha", ref.headSha())
                .put("external_id", create);
        outbox.add(startedKey(jobId), ref.installationId(), Outbox.CHECK_RUN_UPDATE, request, create);
    }

    static String startedKey(long jobId) {
        return "check-run-started:job:" + jobId;
    }

    static String completedKey(long jobId) {
        return "check-run-completed:job:" + jobId;
    }

    static String commentKey(long jobId) {
        return "comment:job:" + jobId;
    }

    static String checkRunKey(long jobId) {
        return "check-run:job:" + jobId;
    }

    /** A bot task ended: its check run completed with the summary. */
    public void taskFinished(long jobId, GithubRef ref, String name, String markdown, Conclusion conclusion) {
        completeCheckRun(jobId, ref, name, markdown, conclusion, publicUrl + "/job/" + jobId, startedKey(jobId));
    }

    /** The job's one comment on its thread, posted or edited in place. */
    public void jobComment(long jobId, GithubRef ref, String markdown) {
        var marker = jobMarker(jobId);
        comment(commentKey(jobId), ref, marker, truncate(marker + "\n" + markdown, COMMENT_LIMIT, null));
    }

    /**
     * The job ended: its report as a comment on the thread (edited in place if the job already has one), and its
     * check run completed with {@code conclusion} and the report as summary.
     */
    public void jobFinished(long jobId, GithubRef ref, String markdownReport, Conclusion conclusion) {
        var reportUrl = reportUrl(jobId, ref);
        var marker = jobMarker(jobId);
        comment(commentKey(jobId), ref, marker, truncate(marker + "\n" + markdownReport, COMMENT_LIMIT, reportUrl));
        if (ref.headSha() != null) {
            completeCheckRun(jobId, ref, checkName, markdownReport, conclusion, reportUrl, null);
        }
    }

    /** A cancelled job: its check run, if it has one, is completed as cancelled instead of staying in progress. */
    public void jobCancelled(long jobId, GithubRef ref) {
        if (ref.headSha() != null) {
            completeCheckRun(
                    jobId,
                    ref,
                    checkName,
                    "Cancelled before it had an answer.",
                    Conclusion.CANCELLED,
                    reportUrl(jobId, ref),
                    null);
        }
    }

    /**
     * A completed check run about the head commit itself rather than a job (e.g. what its change of the repository
     * config would do once merged); one per {@code name} and commit.
     */
    void headCheck(GithubRef ref, String name, Conclusion conclusion, String title, String markdown) {
        var key = "head-check:" + name + ":" + ref.owner() + "/" + ref.repo() + ":" + ref.headSha();
        var output = JsonNodeFactory.instance
                .objectNode()
                .put("title", title)
                .put("summary", truncate(markdown, SUMMARY_LIMIT, null));
        var request = base(ref)
                .put("name", name)
                .put("head_sha", ref.headSha())
                .put("external_id", key)
                .put("status", "completed")
                .put("conclusion", conclusion.api())
                .put("completed_at", clock.instant().toString());
        request.set("output", output);
        outbox.add(key, ref.installationId(), Outbox.CHECK_RUN_CREATE, request, null);
    }

    /** {@code after}: the update this one must follow (so a late in-progress never overwrites completed), or null. */
    private void completeCheckRun(
            long jobId,
            GithubRef ref,
            String name,
            String markdown,
            Conclusion conclusion,
            String reportUrl,
            String after) {
        var create = createCheckRun(jobId, ref, name, "in_progress");
        var output = JsonNodeFactory.instance
                .objectNode()
                .put("title", "bisectbot job " + jobId + ": " + conclusion.api())
                .put("summary", truncate(markdown, SUMMARY_LIMIT, reportUrl));
        var request = base(ref)
                .put("status", "completed")
                .put("conclusion", conclusion.api())
                .put("completed_at", clock.instant().toString())
                .put("details_url", reportUrl)
                .put("name", name)
                .put("head_sha", ref.headSha())
                .put("external_id", create);
        request.set("output", output);
        outbox.add(
                completedKey(jobId),
                ref.installationId(),
                Outbox.CHECK_RUN_UPDATE,
                request,
                after != null ? after : create);
    }

    /** A reply on the thread keyed by {@code key}: posted once, edited in place if delivered again. */
    void reply(String key, GithubRef ref, String markdown) {
        // The marker goes last, so the reply reads from its first word (e.g. "**Error**:").
        var marker = "<!-- bisectbot:reply:" + key + " -->";
        comment(
                "comment:" + key,
                ref,
                marker,
                truncate(markdown, COMMENT_LIMIT - marker.length() - 2, null) + "\n\n" + marker);
    }

    static String jobMarker(long jobId) {
        return "<!-- bisectbot:job:" + jobId + " -->";
    }

    private void reaction(String key, GithubRef ref, String content) {
        outbox.add(
                key,
                ref.installationId(),
                Outbox.REACTION,
                base(ref).put("comment_id", ref.commentId()).put("content", content),
                null);
    }

    private void comment(String key, GithubRef ref, String marker, String body) {
        outbox.add(
                key,
                ref.installationId(),
                Outbox.COMMENT,
                base(ref)
                        .put("issue_number", ref.issueNumber())
                        .put("marker", marker)
                        .put("body", body),
                null);
    }

    /** Adds the check run's creation (once per job); returns its key, which is also its external id. */
    private String createCheckRun(long jobId, GithubRef ref, String name, String status) {
        var key = checkRunKey(jobId);
        var request = base(ref)
                .put("name", name)
                .put("head_sha", ref.headSha())
                .put("external_id", key)
                .put("status", status);
        if (status.equals("in_progress")) {
            request.put("started_at", Instant.now(clock).toString());
        }
        // A bisect's check links its report; a bot task's links the job and its logs.
        var details = name.equals(checkName) ? reportUrl(jobId, ref) : publicUrl + "/job/" + jobId;
        outbox.add(key, ref.installationId(), Outbox.CHECK_RUN_CREATE, request.put("details_url", details), null);
        return key;
    }

    private static ObjectNode base(GithubRef ref) {
        return JsonNodeFactory.instance.objectNode().put("owner", ref.owner()).put("repo", ref.repo());
    }

    /** {@code text} cut to {@code limit} characters, ending with a note (and a link to the full report when given). */
    static String truncate(String text, int limit, String fullReportUrl) {
        if (text.length() <= limit) {
            return text;
        }
        var note =
                fullReportUrl == null ? "\n\n… (truncated)" : "\n\n… (truncated; [full report](" + fullReportUrl + "))";
        var cut = limit - note.length();
        if (Character.isHighSurrogate(text.charAt(cut - 1))) {
            cut--;
        }
        return text.substring(0, cut) + note;
    }
}
