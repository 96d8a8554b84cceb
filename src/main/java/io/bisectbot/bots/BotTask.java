package io.bisectbot.bots;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * One task of a repository's {@code .github/bisectbot.yml}: either a command run in a container on the commit
 * concerned ({@code run}), or a built-in {@code action} that needs no container.
 *
 * @param secrets names of instance-configured secrets passed to this task only, as environment variables
 * @param cancelPrevious a new push to the pull request cancels this task's jobs for the older head
 * @param source  the task as written in the config, snapshotted into its jobs
 * @param cache   absolute directories kept between runs of this repository's tasks ({@code cache:}), in volumes of
 *                their own for untrusted runs
 */
public record BotTask(
        String name,
        String image,
        String run,
        Action action,
        String label,
        String comment,
        Set<Trigger> on,
        Duration timeout,
        Network network,
        Output outputs,
        List<String> secrets,
        boolean cancelPrevious,
        JsonNode source,
        List<String> cache) {

    public BotTask {
        cache = cache == null ? List.of() : List.copyOf(cache);
    }

    public BotTask(
            String name,
            String image,
            String run,
            Action action,
            String label,
            String comment,
            Set<Trigger> on,
            Duration timeout,
            Network network,
            Output outputs,
            List<String> secrets,
            boolean cancelPrevious,
            JsonNode source) {
        this(
                name,
                image,
                run,
                action,
                label,
                comment,
                on,
                timeout,
                network,
                outputs,
                secrets,
                cancelPrevious,
                source,
                List.of());
    }

    public enum Action {
        CLOSE_PULL_REQUEST,
        ADD_LABEL,
        COMMENT
    }

    public enum Network {
        NONE,
        BRIDGE
    }

    /** Where a container task reports: a check run, a comment on the pull request, or a pull request with its changes. */
    public enum Output {
        CHECK,
        COMMENT,
        PULL_REQUEST
    }

    /** What starts the task. */
    public sealed interface Trigger {
        /** A pull request was opened, pushed to (synchronize) or reopened. */
        record PullRequest() implements Trigger {}

        /** {@code /bot <task>} in a comment. */
        record Command() implements Trigger {}

        /** The label was added to the pull request. */
        record Label(String name) implements Trigger {}

        /** A deadline this long after the pull request was opened or last updated. */
        record Schedule(Duration after) implements Trigger {}
    }

    public boolean runsOn(Trigger trigger) {
        return on.contains(trigger);
    }

    public java.util.Optional<Trigger.Schedule> schedule() {
        return on.stream()
                .filter(t -> t instanceof Trigger.Schedule)
                .map(t -> (Trigger.Schedule) t)
                .findFirst();
    }

    public boolean isAction() {
        return action != null;
    }
}
