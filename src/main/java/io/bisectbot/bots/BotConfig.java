package io.bisectbot.bots;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.springframework.boot.convert.DurationStyle;
import tools.jackson.databind.JsonNode;

/**
 * Reads and checks the {@code tasks:} section of {@code .github/bisectbot.yml} (schema:
 * {@code docs/bot-config.schema.json}). Every problem is collected and reported at once, each naming its key,
 * and unknown keys are errors: a misspelt {@code timout} must not silently become the default.
 */
public final class BotConfig {

    static final Set<String> TASK_KEYS = Set.of(
            "image",
            "run",
            "action",
            "label",
            "comment",
            "on",
            "timeout",
            "network",
            "outputs",
            "secrets",
            "cancel_previous",
            "cache");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
    private static final Pattern SECRET = Pattern.compile("[A-Z][A-Z0-9_]{0,62}");
    private static final Duration MAX_TIMEOUT = Duration.ofHours(6);
    /** {@code /bot approve} approves a pull request's head; no task may take the name. */
    public static final String RESERVED = "approve";

    /** A configuration that cannot be used; {@link #problems()} lists what to fix. */
    public static final class Invalid extends Exception {
        private final List<String> problems;

        Invalid(List<String> problems) {
            super("`.github/bisectbot.yml` has " + problems.size() + (problems.size() == 1 ? " problem" : " problems")
                    + ":\n- " + String.join("\n- ", problems));
            this.problems = List.copyOf(problems);
        }

        public List<String> problems() {
            return problems;
        }
    }

    private BotConfig() {}

    /** The tasks by name; an absent or empty section gives none. */
    public static Map<String, BotTask> parse(JsonNode tasks, String defaultImage, Duration defaultTimeout)
            throws Invalid {
        var result = new LinkedHashMap<String, BotTask>();
        if (tasks == null || tasks.isMissingNode() || tasks.isNull()) {
            return result;
        }
        var problems = new ArrayList<String>();
        if (!tasks.isObject()) {
            throw new Invalid(List.of("`tasks` must be a mapping of task names to tasks"));
        }
        for (var name : tasks.propertyNames()) {
            var node = tasks.get(name);
            var at = "tasks." + name;
            if (!NAME.matcher(name).matches()) {
                problems.add("`" + at
                        + "`: a task name is 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit");
                continue;
            }
            if (name.equals(RESERVED)) {
                problems.add("`" + at + "`: `" + RESERVED
                        + "` is a command of its own (`/bot approve`); name the task otherwise");
                continue;
            }
            if (!node.isObject()) {
                problems.add("`" + at + "` must be a mapping with keys such as `run`, `on`, `outputs`");
                continue;
            }
            var before = problems.size();
            var task = task(name, node, at, defaultImage, defaultTimeout, problems);
            if (problems.size() == before) {
                result.put(name, task);
            }
        }
        if (!problems.isEmpty()) {
            throw new Invalid(problems);
        }
        return result;
    }

    private static BotTask task(
            String name,
            JsonNode node,
            String at,
            String defaultImage,
            Duration defaultTimeout,
            List<String> problems) {
        for (var key : node.propertyNames()) {
            if (!TASK_KEYS.contains(key)) {
                problems.add("`" + at + "." + key + "`: unknown key; a task takes "
                        + String.join(", ", new TreeSet<>(TASK_KEYS)));
            }
        }
        var run = text(node, "run", at, problems);
        var actionText = text(node, "action", at, problems);
        BotTask.Action action = null;
        if (actionText != null) {
            try {
                action = BotTask.Action.valueOf(actionText.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                problems.add("`" + at + ".action`: must be close_pull_request, add_label or comment, got `" + actionText
                        + "`");
            }
        }
        if ((run == null) == (actionText == null)) {
            problems.add("`" + at
                    + "`: give exactly one of `run` (a command run in a container) or `action` (a built-in action)");
        }
        var label = text(node, "label", at, problems);
        var comment = text(node, "comment", at, problems);
        if (action == BotTask.Action.ADD_LABEL && label == null) {
            problems.add("`" + at + ".label`: the add_label action needs the label to add");
        }
        if (action == BotTask.Action.COMMENT && comment == null) {
            problems.add("`" + at + ".comment`: the comment action needs the comment text");
        }
        var on = triggers(node.get("on"), at, problems);
        var timeout = defaultTimeout;
        if (node.has("timeout")) {
            timeout = duration(node.get("timeout"), at + ".timeout", problems);
        }
        var network = BotTask.Network.NONE;
        var networkText = text(node, "network", at, problems);
        if (networkText != null) {
            switch (networkText) {
                case "none" -> network = BotTask.Network.NONE;
                case "bridge" -> network = BotTask.Network.BRIDGE;
                default -> problems.add("`" + at + ".network`: must be none or bridge, got `" + networkText + "`");
            }
        }
        var outputs = BotTask.Output.CHECK;
        var outputText = text(node, "outputs", at, problems);
        if (outputText != null) {
            switch (outputText) {
                case "check" -> outputs = BotTask.Output.CHECK;
                case "comment" -> outputs = BotTask.Output.COMMENT;
                case "pull_request" -> outputs = BotTask.Output.PULL_REQUEST;
                default ->
                    problems.add(
                            "`" + at + ".outputs`: must be check, comment or pull_request, got `" + outputText + "`");
            }
        }
        var secrets = new ArrayList<String>();
        var secretsNode = node.get("secrets");
        if (secretsNode != null && !secretsNode.isNull()) {
            if (!secretsNode.isArray()) {
                problems.add("`" + at + ".secrets`: must be a list of secret names, e.g. [NPM_TOKEN]");
            } else {
                for (var secret : secretsNode) {
                    if (!secret.isString() || !SECRET.matcher(secret.asString()).matches()) {
                        problems.add("`" + at + ".secrets`: `" + secret
                                + "` is not a secret name (UPPER_CASE letters, digits, _)");
                    } else {
                        secrets.add(secret.asString());
                    }
                }
            }
        }
        var cancelPrevious = true;
        var cancelNode = node.get("cancel_previous");
        if (cancelNode != null && !cancelNode.isNull()) {
            if (!cancelNode.isBoolean()) {
                problems.add("`" + at + ".cancel_previous`: must be true or false");
            } else {
                cancelPrevious = cancelNode.asBoolean();
            }
        }
        var cache = new ArrayList<String>();
        var cacheNode = node.get("cache");
        if (cacheNode != null && !cacheNode.isNull()) {
            var paths = new ArrayList<String>();
            if (cacheNode.isArray()) {
                cacheNode.forEach(p -> paths.add(p.isString() ? p.asString() : p.toString()));
            } else {
                paths.add(cacheNode.isString() ? cacheNode.asString() : cacheNode.toString());
            }
            try {
                cache.addAll(io.bisectbot.cache.CachePaths.check("`" + at + ".cache`", paths, null));
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
        }
        var image = text(node, "image", at, problems);
        return new BotTask(
                name,
                image == null ? defaultImage : image,
                run,
                action,
                label,
                comment,
                on,
                timeout,
                network,
                outputs,
                List.copyOf(secrets),
                cancelPrevious,
                node,
                cache);
    }

    private static Set<BotTask.Trigger> triggers(JsonNode node, String at, List<String> problems) {
        var triggers = new LinkedHashSet<BotTask.Trigger>();
        if (node == null || node.isNull()) {
            problems.add("`" + at + ".on`: say when the task runs, e.g. [pull_request, command]");
            return triggers;
        }
        var items = new ArrayList<JsonNode>();
        if (node.isArray()) {
            node.forEach(items::add);
        } else {
            items.add(node);
        }
        for (var item : items) {
            var text = item.isString() ? item.asString().strip() : "";
            if (text.equals("pull_request")) {
                triggers.add(new BotTask.Trigger.PullRequest());
            } else if (text.equals("command")) {
                triggers.add(new BotTask.Trigger.Command());
            } else if (text.startsWith("label:") && text.length() > "label:".length()) {
                triggers.add(new BotTask.Trigger.Label(text.substring("label:".length())));
            } else if (text.startsWith("schedule:")) {
                try {
                    var after = Duration.parse(text.substring("schedule:".length()));
                    if (after.isNegative() || after.isZero()) {
                        throw new DateTimeParseException("not positive", text, 0);
                    }
                    triggers.add(new BotTask.Trigger.Schedule(after));
                } catch (DateTimeParseException e) {
                    problems.add("`" + at + ".on`: `" + text + "` needs an ISO-8601 duration, e.g. schedule:PT72H");
                }
            } else {
                problems.add("`" + at + ".on`: `" + (item.isString() ? text : item.toString())
                        + "` is not a trigger; use pull_request, command, label:<name> or schedule:<duration>");
            }
        }
        return triggers;
    }

    private static Duration duration(JsonNode node, String at, List<String> problems) {
        Duration parsed = null;
        if (node.isIntegralNumber()) {
            parsed = Duration.ofSeconds(node.asLong());
        } else if (node.isString()) {
            try {
                parsed = DurationStyle.detectAndParse(node.asString().strip(), ChronoUnit.SECONDS);
            } catch (IllegalArgumentException e) {
                parsed = null;
            }
        }
        if (parsed == null || parsed.isNegative() || parsed.isZero() || parsed.compareTo(MAX_TIMEOUT) > 0) {
            problems.add("`" + at + "`: must be a duration such as 90s or 10m (or seconds), at most 6h");
            return null;
        }
        return parsed;
    }

    private static String text(JsonNode node, String key, String at, List<String> problems) {
        var value = node.get(key);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isString() || value.asString().isBlank()) {
            problems.add("`" + at + "." + key + "`: must be a non-empty string");
            return null;
        }
        return value.asString();
    }
}
