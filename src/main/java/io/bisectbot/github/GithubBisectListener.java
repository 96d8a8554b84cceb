package io.bisectbot.github;

import io.bisectbot.bisect.BisectListener;
import io.bisectbot.bisect.BisectOutcome;
import io.bisectbot.bisect.BisectRequest;
import io.bisectbot.bisect.BisectResult;
import io.bisectbot.queue.JobContext;

/**
 * Reports bisect jobs started from GitHub: 🚀 and an in-progress check run at start, the report at the end, the check
 * run closed as cancelled when the job is cancelled.
 */
final class GithubBisectListener implements BisectListener {

    private final GithubReports reports;

    GithubBisectListener(GithubReports reports) {
        this.reports = reports;
    }

    @Override
    public void started(JobContext job, BisectRequest request) {
        if (request.github() != null) {
            reports.jobStarted(job.jobId(), GithubRef.fromJson(request.github()));
        }
    }

    @Override
    public void finished(JobContext job, BisectRequest request, BisectResult result, String report) {
        if (request.github() == null) {
            return;
        }
        var conclusion = result != null && result.outcome() instanceof BisectOutcome.FirstBad
                ? GithubReports.Conclusion.SUCCESS
                : result == null ? GithubReports.Conclusion.FAILURE : GithubReports.Conclusion.NEUTRAL;
        reports.jobFinished(job.jobId(), GithubRef.fromJson(request.github()), report, conclusion);
    }

    /** The check run started in progress is closed; whoever cancelled was answered where they asked. */
    @Override
    public void cancelled(JobContext job, BisectRequest request) {
        if (request.github() != null) {
            reports.jobCancelled(job.jobId(), GithubRef.fromJson(request.github()));
        }
    }
}
