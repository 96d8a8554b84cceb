package io.bisectbot.github;

import io.bisectbot.queue.Job;
import io.bisectbot.web.JobWrites;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * A job's comment and check run, read from the outbox rows keyed by the job, and the pull request a bot task opened
 * (its result's {@code pull_request_url}). A link is the page address GitHub answered with; rows delivered before that
 * was kept get one built from the repository and the id GitHub gave back.
 */
final class GithubJobWrites implements JobWrites {

    private final Outbox outbox;
    private final String webUrl;

    GithubJobWrites(Outbox outbox, URI apiUrl) {
        this.outbox = outbox;
        this.webUrl = webUrl(apiUrl);
    }

    /** Where people see what the API wrote: github.com for api.github.com, else the Enterprise Server's own host. */
    static String webUrl(URI apiUrl) {
        if ("api.github.com".equalsIgnoreCase(apiUrl.getHost())) {
            return "https://github.com";
        }
        return apiUrl.getScheme() + "://" + apiUrl.getRawAuthority();
    }

    @Override
    public List<Write> of(Job job) {
        var writes = new ArrayList<Write>();
        var rows = outbox.ofJob(job.id());
        rows.stream()
                .filter(r -> r.key().equals(GithubReports.commentKey(job.id())))
                .findFirst()
                .ifPresent(row -> writes.add(comment(row)));
        var checkRows = rows.stream()
                .filter(r -> !r.key().equals(GithubReports.commentKey(job.id())))
                .toList();
        if (!checkRows.isEmpty()) {
            writes.add(checkRun(checkRows));
        }
        var pullRequest = job.result() == null
                ? null
                : job.result().path("pull_request_url").asString(null);
        if (pullRequest != null && (pullRequest.startsWith("https://") || pullRequest.startsWith("http://"))) {
            writes.add(new Write("pull_request", "delivered", pullRequest, number(pullRequest)));
        }
        return writes;
    }

    private Write comment(Outbox.JobRow row) {
        var id = row.result() == null ? 0 : row.result().path("comment_id").asLong(0);
        if (!row.status().equals("DONE") || id <= 0) {
            return new Write("comment", state(row.status()), null, null);
        }
        var url = storedUrl(row.result());
        if (url == null) {
            url = repoUrl(row.request()) + "/issues/"
                    + row.request().path("issue_number").asLong() + "#issuecomment-" + id;
        }
        return new Write("comment", "delivered", url, id);
    }

    /** The creation and the updates of one check run: delivered once any of them has its id. */
    private Write checkRun(List<Outbox.JobRow> rows) {
        for (var row : rows) {
            var id =
                    row.result() == null ? 0 : row.result().path("check_run_id").asLong(0);
            if (row.status().equals("DONE") && id > 0) {
                var url = rows.stream()
                        .map(r -> storedUrl(r.result()))
                        .filter(java.util.Objects::nonNull)
                        .findFirst()
                        .orElse(repoUrl(row.request()) + "/runs/" + id);
                return new Write("check_run", "delivered", url, id);
            }
        }
        var failed = rows.stream().anyMatch(r -> r.status().equals("DEAD"));
        return new Write("check_run", failed ? "failed" : "pending", null, null);
    }

    private static String storedUrl(JsonNode result) {
        var url = result == null ? null : result.path("html_url").asString(null);
        return url != null && (url.startsWith("https://") || url.startsWith("http://")) ? url : null;
    }

    private String repoUrl(JsonNode request) {
        return webUrl + "/" + segment(request.path("owner").asString("")) + "/"
                + segment(request.path("repo").asString(""));
    }

    /** Owner and repository names are [A-Za-z0-9._-]; anything else is encoded rather than trusted into the link. */
    private static String segment(String name) {
        return java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String state(String status) {
        return switch (status) {
            case "DONE" -> "delivered";
            case "DEAD" -> "failed";
            default -> "pending";
        };
    }

    /** The pull request's number, the last path segment of its page. */
    private static Long number(String url) {
        var last = url.substring(url.lastIndexOf('/') + 1);
        return last.matches("\\d{1,18}") ? Long.valueOf(last) : null;
    }
}
