package io.bisectbot.github;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Slash commands in a comment: each on its own line, outside code fences and {@code >} quotes. A comment may hold
 * several; each is identified by its line index, which keys the work it causes.
 */
final class Commands {

    static final int MAX_PER_COMMENT = 10;
    static final int MAX_K = 64;
    static final int MAX_REPEAT = 100;

    static final String BISECT_USAGE = "/bisect good=<ref> bad=<ref> [k=<n>] [repeat=<n>] [-- <command>]";
    static final String USAGE = """
            | Command | What it does |
            |---|---|
            | `/bisect good=<ref> bad=<ref> [k=<n>] [repeat=<n>] [-- <command>]` | finds the first bad commit between `good` and `bad`; without `-- <command>` the `bisect.command` of `.github/bisectbot.yml` is run. `k` runs that many steps at once, `repeat` runs each step that many times (flaky tests). |
            | `/bot <task> [args]` | runs a task from the `tasks:` section of `.github/bisectbot.yml` (as the pull request's base branch has it) |
            | `/bot approve [<sha>]` | lets the pull request's current head (or `<sha>`, which must be it) run its tasks with their secrets, network and outputs once; a new push needs a new approval |
            | `/cancel` | cancels the jobs this thread started that are still running |
            | `/help` | shows this help |""";

    private static final Pattern COMMAND = Pattern.compile("^/(bisect|bot|cancel|help)(?:\\s+(.*))?$");
    private static final Pattern REF = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/~^@{}+-]{0,199}");
    private static final Pattern FENCE = Pattern.compile("^ {0,3}(`{3,}|~{3,})(.*)$");
    private static final Pattern TASK = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    private Commands() {}

    /** One command line of a comment, parsed or not. */
    sealed interface Command {
        int line();

        String text();
    }

    record Bisect(int line, String text, List<String> good, String bad, Integer k, Integer repeat, String command)
            implements Command {}

    record Bot(int line, String text, String task, String args) implements Command {}

    record Cancel(int line, String text) implements Command {}

    record Help(int line, String text) implements Command {}

    /** A command line that could not be parsed; {@code problem} says why and {@code usage} how to write it. */
    record Malformed(int line, String text, String problem, String usage) implements Command {}

    static List<Command> parse(String body) {
        var commands = new ArrayList<Command>();
        if (body == null) {
            return commands;
        }
        var lines = body.split("\\r?\\n", -1);
        String fence = null;
        for (int i = 0; i < lines.length && commands.size() < MAX_PER_COMMENT; i++) {
            var line = lines[i];
            var fenceMatch = FENCE.matcher(line);
            if (fence == null && fenceMatch.matches()) {
                fence = fenceMatch.group(1);
                continue;
            }
            if (fence != null) {
                // A fence closes with at least as many of the same characters and nothing else.
                if (fenceMatch.matches()
                        && fenceMatch.group(1).charAt(0) == fence.charAt(0)
                        && fenceMatch.group(1).length() >= fence.length()
                        && fenceMatch.group(2).isBlank()) {
                    fence = null;
                }
                continue;
            }
            if (line.startsWith("    ") || line.startsWith("\t")) {
                continue; // an indented code block
            }
            var trimmed = line.strip();
            if (trimmed.startsWith(">")) {
                continue;
            }
            var match = COMMAND.matcher(trimmed);
            if (match.matches()) {
                commands.add(parseOne(
                        i,
                        trimmed,
                        match.group(1),
                        match.group(2) == null ? "" : match.group(2).strip()));
            }
        }
        return commands;
    }

    private static Command parseOne(int line, String text, String name, String args) {
        return switch (name) {
            case "bisect" -> parseBisect(line, text, args);
            case "bot" -> {
                var parts = args.split("\\s+", 2);
                if (parts[0].isEmpty() || !TASK.matcher(parts[0]).matches()) {
                    yield new Malformed(
                            line,
                            text,
                            "`/bot` needs a task name (letters, digits, `_`, `.`, `-`)",
                            "/bot <task> [args]");
                }
                yield new Bot(line, text, parts[0], parts.length > 1 ? parts[1].strip() : "");
            }
            case "cancel" ->
                args.isEmpty()
                        ? new Cancel(line, text)
                        : new Malformed(line, text, "`/cancel` takes no arguments", "/cancel");
            default ->
                args.isEmpty()
                        ? new Help(line, text)
                        : new Malformed(line, text, "`/help` takes no arguments", "/help");
        };
    }

    private static Command parseBisect(int line, String text, String args) {
        String command = null;
        var options = args;
        var separator = findSeparator(args);
        if (separator >= 0) {
            options = args.substring(0, separator).strip();
            command = args.substring(separator + 2).strip();
            if (command.isEmpty()) {
                return new Malformed(
                        line, text, "nothing follows `--`; give the command to run, or leave out `--`", BISECT_USAGE);
            }
        }
        var good = new ArrayList<String>();
        String bad = null;
        Integer k = null;
        Integer repeat = null;
        for (var token : options.isEmpty() ? new String[0] : options.split("\\s+")) {
            var eq = token.indexOf('=');
            if (eq <= 0) {
                return new Malformed(line, text, "`" + token + "` is not of the form `name=value`", BISECT_USAGE);
            }
            var key = token.substring(0, eq);
            var value = token.substring(eq + 1);
            switch (key) {
                case "good" -> {
                    for (var ref : value.split(",")) {
                        if (!REF.matcher(ref).matches()) {
                            return new Malformed(line, text, "`" + ref + "` is not a valid git ref", BISECT_USAGE);
                        }
                        good.add(ref);
                    }
                }
                case "bad" -> {
                    if (bad != null) {
                        return new Malformed(line, text, "`bad` is given twice", BISECT_USAGE);
                    }
                    if (!REF.matcher(value).matches()) {
                        return new Malformed(line, text, "`" + value + "` is not a valid git ref", BISECT_USAGE);
                    }
                    bad = value;
                }
                case "k", "repeat" -> {
                    var max = key.equals("k") ? MAX_K : MAX_REPEAT;
                    Optional<Integer> n = positive(value, max);
                    if (n.isEmpty()) {
                        return new Malformed(
                                line,
                                text,
                                "`" + key + "` must be a whole number from 1 to " + max + ", got `" + value + "`",
                                BISECT_USAGE);
                    }
                    if (key.equals("k")) {
                        k = n.get();
                    } else {
                        repeat = n.get();
                    }
                }
                default -> {
                    return new Malformed(line, text, "unknown option `" + key + "`", BISECT_USAGE);
                }
            }
        }
        if (good.isEmpty() || bad == null) {
            return new Malformed(line, text, "both `good=<ref>` and `bad=<ref>` are required", BISECT_USAGE);
        }
        return new Bisect(line, text, List.copyOf(good), bad, k, repeat, command);
    }

    /** The index of a {@code --} that stands alone as a word, or -1. */
    private static int findSeparator(String args) {
        if (args.startsWith("--") && (args.length() == 2 || Character.isWhitespace(args.charAt(2)))) {
            return 0;
        }
        var m = Pattern.compile("\\s--(\\s|$)").matcher(args);
        return m.find() ? m.start() + 1 : -1;
    }

    private static Optional<Integer> positive(String value, int max) {
        if (!value.matches("[0-9]{1,4}")) {
            return Optional.empty();
        }
        var n = Integer.parseInt(value);
        return n >= 1 && n <= max ? Optional.of(n) : Optional.empty();
    }
}
