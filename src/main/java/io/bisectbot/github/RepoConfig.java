package io.bisectbot.github;

import io.bisectbot.bisect.BisectRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.springframework.boot.convert.DurationStyle;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * A repository's {@code .github/bisectbot.yml}:
 * <pre>
 * bisect:
 *   image: ghcr.io/acme/build:1     # container image of each step
 *   command: make test              # run when /bisect has no "-- command"
 *   timeout: 20m                    # per step; a number means seconds
 *   parallelism: 4                  # steps at once (k)
 *   repeat: 1                       # runs per step (metric mode: measurements per commit to start with)
 *   mode: metric                    # pass-fail (default) or metric: bisect a slowdown
 *   metric: stdout                  # metric mode: the last number printed (stdout) or the wall time (wall)
 *   direction: lower-is-better      # or higher-is-better
 *   threshold: 10                   # smallest change of the median that counts, in percent
 *   alpha: 0.05                     # significance level of the Mann-Whitney U test
 *   max_repeat: 20                  # most measurements per commit when inconclusive (the cap)
 *   cache: [/root/.m2/repository]   # directories kept between steps, in volumes of this repository and trust
 *   network: bridge                 # steps get network (default none); trusted runs only
 * tasks:                            # kept as written, for /bot
 *   lint: { ... }
 * approval_label: ok-to-test        # adding it (with write access) approves the head, like /bot approve
 * callbacks:                        # signed job callbacks of the jobs started here; default branch only
 *   - url: https://ci.example.com/bisectbot
 *     events: [succeeded, failed, progress]
 * </pre>
 * The config that runs is always the base branch's; a pull request's own version is only validated and compared.
 * {@code cache} paths are checked as a bisect request's are. The trust of the code a bisect runs is decided per
 * command, not here: a run on a pull request whose head is not trusted (or whose range names such a pull request's
 * ref) gets cache volumes apart from trusted runs' and no network, whatever the config says.
 * {@code callbacks} are read from the default branch's version alone: they send the jobs' results out of the
 * service, so no pull request, and no branch a pull request could target, may add one.
 */
record RepoConfig(Bisect bisect, JsonNode tasks, String approvalLabel, JsonNode callbacks) {

    static final String PATH = ".github/bisectbot.yml";

    /**
     * @param metric        the metric-mode settings; null for pass/fail
     * @param cache         dependency cache paths, checked; empty for none
     * @param bridgeNetwork {@code network: bridge}: the steps ask for network, which only trusted runs get
     */
    record Bisect(
            String image,
            String command,
            Duration timeout,
            Integer parallelism,
            Integer repeat,
            Metric metric,
            List<String> cache,
            boolean bridgeNetwork) {
        Bisect {
            cache = cache == null ? List.of() : List.copyOf(cache);
        }
    }

    /**
     * {@code mode: metric} settings, in the words of a bisect request; null fields take the service's defaults.
     *
     * @param threshold in percent
     */
    record Metric(String source, String direction, Double threshold, Double alpha, Integer maxRepeat) {
        static final Metric DEFAULTS = new Metric(null, null, null, null, null);
    }

    static final RepoConfig EMPTY =
            new RepoConfig(new Bisect(null, null, null, null, null, null, List.of(), false), null, null, null);

    private static final YAMLMapper yaml = YAMLMapper.builder().build();
    private static final Set<String> TOP_LEVEL = Set.of("bisect", "tasks", "approval_label", "callbacks");
    private static final Set<String> CALLBACK_KEYS = Set.of("url", "events");
    private static final Set<String> METRIC_KEYS = Set.of("metric", "direction", "threshold", "alpha", "max_repeat");
    private static final Set<String> BISECT_KEYS = Set.of(
            "image",
            "command",
            "timeout",
            "parallelism",
            "repeat",
            "mode",
            "metric",
            "direction",
            "threshold",
            "alpha",
            "max_repeat",
            "cache",
            "network");

    /** Thrown for a config that cannot be used; the message is shown to the user as is. */
    static final class Invalid extends Exception {
        Invalid(String message) {
            super(message);
        }
    }

    static RepoConfig parse(String text) throws Invalid {
        if (text == null || text.isBlank()) {
            return EMPTY;
        }
        JsonNode root;
        try {
            root = yaml.readTree(text);
        } catch (JacksonException e) {
            throw new Invalid("`" + PATH + "` is not valid YAML: " + firstLine(e.getOriginalMessage()));
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return EMPTY;
        }
        if (!root.isObject()) {
            throw new Invalid("`" + PATH + "` must be a mapping with the keys " + sorted(TOP_LEVEL));
        }
        unknownKeys(root, TOP_LEVEL, "");
        var bisect = root.path("bisect");
        if (!bisect.isMissingNode() && !bisect.isNull() && !bisect.isObject()) {
            throw new Invalid("`bisect` in `" + PATH + "` must be a mapping with the keys " + sorted(BISECT_KEYS));
        }
        unknownKeys(bisect, BISECT_KEYS, "bisect.");
        var tasks = root.path("tasks");
        var label = root.path("approval_label");
        if (!label.isMissingNode()
                && !label.isNull()
                && (!label.isString() || label.asString().isBlank())) {
            throw new Invalid("`approval_label` in `" + PATH + "` must be a label name");
        }
        var metric = metric(bisect);
        var repeat = positive(bisect, "repeat", Commands.MAX_REPEAT);
        if (metric != null && repeat != null && repeat < 2) {
            throw new Invalid(
                    "`bisect.repeat` in `" + PATH + "` is the number of measurements per commit in metric mode: "
                            + "a whole number from 2 to " + Commands.MAX_REPEAT);
        }
        if (metric != null && metric.maxRepeat() != null && metric.maxRepeat() < (repeat == null ? 2 : repeat)) {
            throw new Invalid("`bisect.max_repeat` in `" + PATH + "` must be at least `bisect.repeat` ("
                    + (repeat == null ? 2 : repeat) + ")");
        }
        return new RepoConfig(
                new Bisect(
                        string(bisect, "image"),
                        string(bisect, "command"),
                        timeout(bisect.path("timeout")),
                        positive(bisect, "parallelism", Commands.MAX_K),
                        repeat,
                        metric,
                        cache(bisect.path("cache")),
                        "bridge".equals(word(bisect, "network", List.of("none", "bridge")))),
                tasks.isMissingNode() || tasks.isNull() ? null : tasks,
                label.isString() ? label.asString().strip() : null,
                callbacks(root.path("callbacks")));
    }

    /**
     * The {@code callbacks} list in the shape of a request's ({@code [{url, events}]}), or null when there is none.
     * Only the shape is checked here; each URL and event is checked when a job takes it, and one that is not allowed
     * is dropped there with a note on the job, so a refused callback never stops the job.
     */
    private static JsonNode callbacks(JsonNode callbacks) throws Invalid {
        if (callbacks.isMissingNode() || callbacks.isNull() || callbacks.isArray() && callbacks.isEmpty()) {
            return null;
        }
        var shape = "a list of mappings with `url` and, optionally, `events`";
        if (!callbacks.isArray()) {
            throw new Invalid("`callbacks` in `" + PATH + "` must be " + shape);
        }
        for (int i = 0; i < callbacks.size(); i++) {
            var callback = callbacks.get(i);
            var where = "`callbacks[" + i + "]` in `" + PATH + "`";
            if (!callback.isObject()) {
                throw new Invalid(where + " must be a mapping with `url` and, optionally, `events`");
            }
            for (var name : callback.propertyNames()) {
                if (!CALLBACK_KEYS.contains(name)) {
                    throw new Invalid(
                            "unknown key `" + name + "` in " + where + "; known keys: " + sorted(CALLBACK_KEYS));
                }
            }
            if (!callback.path("url").isString()
                    || callback.path("url").asString().isBlank()) {
                throw new Invalid(where + " needs a `url` (https://...)");
            }
            var events = callback.path("events");
            if (!events.isMissingNode() && !events.isNull()) {
                var names = events.isArray() && !events.isEmpty();
                for (var event : events) {
                    names &= event.isString();
                }
                if (!names) {
                    throw new Invalid("`events` of " + where
                            + " must be a list of event names, e.g. `[succeeded, failed, progress]`");
                }
            }
        }
        return callbacks;
    }

    /** What {@code proposed} would change against this config, one line per change; empty when nothing. */
    List<String> changesTo(RepoConfig proposed) {
        var changes = new ArrayList<String>();
        if (!bisect.equals(proposed.bisect)) {
            changes.add("`bisect` settings change");
        }
        if (!java.util.Objects.equals(approvalLabel, proposed.approvalLabel)) {
            changes.add(
                    "`approval_label` changes from " + quoted(approvalLabel) + " to " + quoted(proposed.approvalLabel));
        }
        if (!java.util.Objects.equals(callbacks, proposed.callbacks)) {
            changes.add("`callbacks` change (they are read from the default branch only)");
        }
        var before = tasks == null || !tasks.isObject() ? Set.<String>of() : new TreeSet<>(tasks.propertyNames());
        var after = proposed.tasks == null || !proposed.tasks.isObject()
                ? Set.<String>of()
                : new TreeSet<>(proposed.tasks.propertyNames());
        for (var name : new TreeSet<>(after)) {
            if (!before.contains(name)) {
                changes.add("task `" + name + "` is added");
            } else if (!tasks.get(name).equals(proposed.tasks.get(name))) {
                changes.add("task `" + name + "` changes");
            }
        }
        for (var name : new TreeSet<>(before)) {
            if (!after.contains(name)) {
                changes.add("task `" + name + "` is removed");
            }
        }
        return changes;
    }

    private static String quoted(String value) {
        return value == null ? "none" : "`" + value + "`";
    }

    private static void unknownKeys(JsonNode node, Set<String> known, String prefix) throws Invalid {
        if (!node.isObject()) {
            return;
        }
        for (var name : node.propertyNames()) {
            if (!known.contains(name)) {
                throw new Invalid("unknown key `" + prefix + name + "` in `" + PATH + "`; known keys"
                        + (prefix.isEmpty() ? "" : " of `" + prefix.substring(0, prefix.length() - 1) + "`") + ": "
                        + sorted(known));
            }
        }
    }

    /** The {@code cache} paths: a list of them or one, checked by the same rules as a bisect request's. */
    private static List<String> cache(JsonNode cache) throws Invalid {
        if (cache.isMissingNode() || cache.isNull()) {
            return List.of();
        }
        var paths = new ArrayList<String>();
        if (cache.isString()) {
            paths.add(cache.asString());
        } else if (cache.isArray()) {
            for (var path : cache) {
                if (!path.isString()) {
                    paths = null;
                    break;
                }
                paths.add(path.asString());
            }
        } else {
            paths = null;
        }
        if (paths == null) {
            throw new Invalid("`bisect.cache` in `" + PATH + "` must be a list of absolute directories, e.g. "
                    + "`[/root/.m2/repository]`");
        }
        try {
            return BisectRequest.checkCachePaths("`bisect.cache` in `" + PATH + "`", paths);
        } catch (IllegalArgumentException e) {
            throw new Invalid(e.getMessage());
        }
    }

    /** The metric-mode settings; null in pass/fail mode, where the metric keys are errors rather than ignored. */
    private static Metric metric(JsonNode bisect) throws Invalid {
        var mode = word(bisect, "mode", List.of("pass-fail", "metric"));
        if (!"metric".equals(mode)) {
            for (var key : new TreeSet<>(METRIC_KEYS)) {
                if (bisect.has(key)) {
                    throw new Invalid("`bisect." + key + "` in `" + PATH
                            + "` applies only to `mode: metric`; add `mode: metric` " + "or drop `bisect." + key + "`");
                }
            }
            return null;
        }
        return new Metric(
                word(bisect, "metric", List.of("stdout", "wall")),
                word(bisect, "direction", List.of("lower-is-better", "higher-is-better")),
                number(bisect, "threshold", 0, 1000, "a percentage above 0 and at most 1000, e.g. `10` for 10 %"),
                number(bisect, "alpha", 0, 1, "a significance level above 0 and below 1, e.g. `0.05`"),
                positive(bisect, "max_repeat", Commands.MAX_REPEAT));
    }

    private static String word(JsonNode node, String key, List<String> allowed) throws Invalid {
        var value = node.path(key);
        if (value.isMissingNode() || value.isNull()) {
            return null;
        }
        var word = value.isString() ? value.asString().strip().toLowerCase(java.util.Locale.ROOT) : null;
        if (!allowed.contains(word)) {
            throw new Invalid("`bisect." + key + "` in `" + PATH + "` must be one of " + String.join(", ", allowed)
                    + ", got `" + value.asString() + "`");
        }
        return word;
    }

    /** A number above {@code min}, at most {@code max} (below it when {@code max} is 1: a probability). */
    private static Double number(JsonNode node, String key, double min, double max, String what) throws Invalid {
        var value = node.path(key);
        if (value.isMissingNode() || value.isNull()) {
            return null;
        }
        var number = value.isNumber() ? value.asDouble() : Double.NaN;
        if (!(number > min) || number > max || (max == 1 && number >= 1)) {
            throw new Invalid(
                    "`bisect." + key + "` in `" + PATH + "` must be " + what + ", got `" + value.asString() + "`");
        }
        return number;
    }

    private static String string(JsonNode node, String key) throws Invalid {
        var value = node.path(key);
        if (value.isMissingNode() || value.isNull()) {
            return null;
        }
        if (!value.isString() || value.asString().isBlank()) {
            throw new Invalid("`bisect." + key + "` in `" + PATH + "` must be a non-empty string");
        }
        return value.asString();
    }

    private static Integer positive(JsonNode node, String key, int max) throws Invalid {
        var value = node.path(key);
        if (value.isMissingNode() || value.isNull()) {
            return null;
        }
        if (!value.isIntegralNumber() || value.asInt() < 1 || value.asInt() > max) {
            throw new Invalid("`bisect." + key + "` in `" + PATH + "` must be a whole number from 1 to " + max);
        }
        return value.asInt();
    }

    private static Duration timeout(JsonNode value) throws Invalid {
        if (value.isMissingNode() || value.isNull()) {
            return null;
        }
        Duration parsed = null;
        if (value.isIntegralNumber()) {
            parsed = Duration.ofSeconds(value.asLong());
        } else if (value.isString()) {
            try {
                parsed = DurationStyle.detectAndParse(value.asString().strip(), java.time.temporal.ChronoUnit.SECONDS);
            } catch (IllegalArgumentException e) {
                parsed = null;
            }
        }
        if (parsed == null || parsed.isNegative() || parsed.isZero() || parsed.compareTo(Duration.ofHours(24)) > 0) {
            throw new Invalid("`bisect.timeout` in `" + PATH
                    + "` must be a duration such as `90s`, `20m` or a number of " + "seconds, between 1 s and 24 h");
        }
        return parsed;
    }

    private static String sorted(Set<String> keys) {
        return String.join(", ", new TreeSet<>(keys));
    }

    private static String firstLine(String message) {
        return message == null ? "" : message.lines().findFirst().orElse("");
    }
}
