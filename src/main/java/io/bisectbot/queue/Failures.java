package io.bisectbot.queue;

/** Short, log-friendly descriptions of failures: the root cause, without the SQL text Spring wraps around it. */
final class Failures {

    private Failures() {}

    static String brief(Throwable e) {
        var root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        var message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        var firstLine = message.lines().findFirst().orElse(message);
        return firstLine.length() > 300 ? firstLine.substring(0, 300) + "…" : firstLine;
    }
}
