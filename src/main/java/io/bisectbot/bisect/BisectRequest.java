package io.bisectbot.bisect;

import io.bisectbot.cache.CachePaths;
import io.bisectbot.executor.StepSpec;
import io.bisectbot.git.GitRepository;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A bisect job's input, validated up front so a bad request fails the job at once with a message saying what to
 * fix, instead of failing somewhere in the middle.
 *
 * @param command      a shell string (run with {@code sh -c}) or, when {@code argv} is set, the program and arguments
 * @param verdictCache reuse (and share) run results of other jobs on the same repository, commit, image and command
 * @param caching      dependency cache paths, network, and whether commits with the same tree share verdicts
 * @param metric       {@code mode: metric}: how commits are measured and judged; null for pass/fail
 */
public record BisectRequest(
        String repo,
        List<String> good,
        String bad,
        String command,
        List<String> argv,
        String image,
        Duration timeout,
        BisectOptions options,
        boolean verdictCache,
        JsonNode github,
        Caching caching,
        MetricOptions metric) {

    public BisectRequest(
            String repo,
            List<String> good,
            String bad,
            String command,
            List<String> argv,
            String image,
            Duration timeout,
            BisectOptions options,
            boolean verdictCache,
            JsonNode github) {
        this(repo, good, bad, command, argv, image, timeout, options, verdictCache, github, Caching.NONE, null);
    }

    /**
     * What a step keeps and reaches beyond its fresh working copy.
     *
     * @param paths             absolute directories kept between steps in volumes of this repository ({@code cache})
     * @param bridgeNetwork     {@code network: bridge} asked for; granted to trusted runs only
     * @param reuseTreeVerdicts commits with the same tree as a tested one take its verdict ({@code reuse_tree_verdicts},
     *                          default true)
     */
    public record Caching(List<String> paths, boolean bridgeNetwork, boolean reuseTreeVerdicts) {
        public static final Caching NONE = new Caching(List.of(), false, true);

        public Caching {
            paths = List.copyOf(paths);
        }
    }

    /** Network of the steps: the bridge only when asked for and the code is trusted. */
    public StepSpec.Network network() {
        return caching.bridgeNetwork() && registryCredentials() ? StepSpec.Network.BRIDGE : StepSpec.Network.NONE;
    }

    /** GitHub App installation the job runs for; 0 for the command line and {@code POST /bisect}. */
    public long installationId() {
        return github == null ? 0 : github.path("installation_id").asLong(0);
    }

    /** The volumes of this job's cache paths: per installation, repository and trust. */
    public List<StepSpec.Cache> cacheVolumes() {
        return CachePaths.volumes(CachePaths.scope(installationId(), repo, registryCredentials()), caching.paths());
    }

    /**
     * A ref to a pull request's commits, which a mirror of the repository holds ({@code refs/pull/12/head},
     * {@code pull/12/merge~2}); group 1 is its number. Loose on purpose: a branch that merely looks like one is judged
     * by that pull request. A GitHub command judges the trust of each such end when it is given; any other end must be
     * on a branch or a tag.
     */
    public static final Pattern PULL_REQUEST_REF =
            Pattern.compile("(?:^|/)pull/(\\d+)(?:/|$)", Pattern.CASE_INSENSITIVE);

    private static final Pattern REF = Pattern.compile("[A-Za-z0-9._/@^~{}+-]{1,250}");

    /** The command as a POSIX shell line that runs exactly what a step runs, for reports and reproducing. */
    public String commandText() {
        return ShellWords.join(commandWords());
    }

    /** The argv a step runs: the given words, or {@code sh -c} with the configured shell line. */
    List<String> commandWords() {
        return argv != null ? argv : List.of("sh", "-c", command);
    }

    /**
     * Whether the operator's registry credentials may pull the image: not when a GitHub command bisects a pull
     * request whose head is not trusted (its {@code github.untrusted} flag).
     */
    public boolean registryCredentials() {
        return github == null || !github.path("untrusted").asBoolean(false);
    }

    /** This request with its GitHub context marked untrusted, for {@code reason} (shown in the report). */
    BisectRequest untrusted(String reason) {
        var marked = ((ObjectNode) github.deepCopy()).put("untrusted", true).put("trust_reason", reason);
        return new BisectRequest(
                repo, good, bad, command, argv, image, timeout, options, verdictCache, marked, caching, metric);
    }

    public boolean isLocal() {
        return !GitRepository.isRemote(repo);
    }

    /**
     * Reads and checks a job payload; throws {@link IllegalArgumentException} saying what is wrong.
     *
     * @param defaultImage the image when the payload names none ({@code DEFAULT_STEP_IMAGE})
     */
    public static BisectRequest parse(JsonNode payload, BisectProperties limits, String defaultImage) {
        var repo = text(payload, "repo");
        if (repo == null) {
            throw new IllegalArgumentException(
                    "'repo' is required: a git URL (https://github.com/owner/name.git) or a local path");
        }
        if (!GitRepository.isRemote(repo)) {
            if (!limits.allowLocalRepos()) {
                throw new IllegalArgumentException("'repo' must be a remote git URL; local paths are disabled on this "
                        + "service (set ALLOW_LOCAL_REPOS=true to allow them), got '" + repo + "'");
            }
            if (!Files.isDirectory(Path.of(repo))) {
                throw new IllegalArgumentException("'repo' is not a git URL and no directory exists at '" + repo + "'");
            }
        }
        var goods = new ArrayList<String>();
        var goodNode = payload.get("good");
        if (goodNode != null && goodNode.isArray()) {
            goodNode.forEach(node -> goods.add(node.asString()));
        } else if (goodNode != null && goodNode.isString()) {
            goods.add(goodNode.asString());
        }
        if (goods.isEmpty()) {
            throw new IllegalArgumentException("'good' is required: one known-good ref or a list of them");
        }
        goods.forEach(ref -> requireRef("good", ref));
        var bad = text(payload, "bad");
        if (bad == null) {
            throw new IllegalArgumentException("'bad' is required: the known-bad ref, e.g. HEAD or a commit sha");
        }
        requireRef("bad", bad);

        String command = null;
        List<String> argv = null;
        var commandNode = payload.get("command");
        if (commandNode != null && commandNode.isArray() && !commandNode.isEmpty()) {
            argv = new ArrayList<>();
            for (var part : commandNode) {
                argv.add(part.asString());
            }
        } else if (commandNode != null
                && commandNode.isString()
                && !commandNode.asString().isBlank()) {
            command = commandNode.asString();
        } else {
            throw new IllegalArgumentException(
                    "'command' is required: a shell string such as \"make test\" "
                            + "or an argv list such as [\"./run-test.sh\", \"--fast\"]; exit 0 = good, 1-127 = bad, 125 = skip");
        }

        var image = text(payload, "image") == null ? defaultImage : text(payload, "image");
        var timeout = payload.has("timeout_seconds")
                ? Duration.ofSeconds(
                        positive(payload, "timeout_seconds", limits.maxTimeout().toSeconds()))
                : limits.defaultTimeout();

        var slots = payload.has("parallelism") ? positive(payload, "parallelism", limits.maxParallelism()) : 1;
        var metric = metric(payload, limits);
        // In metric mode repeat is the number of measurements per commit, not a flaky-test rule.
        var repeat = payload.has("repeat") && metric == null ? positive(payload, "repeat", limits.maxRepeat()) : 1;
        var rule = switch (text(payload, "repeat_rule") == null
                ? "all-fail"
                : text(payload, "repeat_rule").toLowerCase(Locale.ROOT)) {
            case "all-fail" -> BisectOptions.RepeatRule.ALL_FAIL;
            case "any-fail" -> BisectOptions.RepeatRule.ANY_FAIL;
            case "majority" -> BisectOptions.RepeatRule.MAJORITY;
            default ->
                throw new IllegalArgumentException("'repeat_rule' must be all-fail, any-fail or majority, got '"
                        + text(payload, "repeat_rule") + "'");
        };
        var timeoutVerdict = switch (text(payload, "timeout_verdict") == null
                ? "skip"
                : text(payload, "timeout_verdict").toLowerCase(Locale.ROOT)) {
            case "skip" -> BisectOptions.TimeoutVerdict.SKIP;
            case "bad", "new" -> BisectOptions.TimeoutVerdict.BAD;
            default ->
                throw new IllegalArgumentException(
                        "'timeout_verdict' must be skip or bad, got '" + text(payload, "timeout_verdict") + "'");
        };
        var terms = switch (text(payload, "terms") == null
                ? "good/bad"
                : text(payload, "terms").toLowerCase(Locale.ROOT)) {
            case "good/bad" -> BisectOptions.Terms.GOOD_BAD;
            case "old/new" -> BisectOptions.Terms.OLD_NEW;
            default ->
                throw new IllegalArgumentException(
                        "'terms' must be good/bad or old/new, got '" + text(payload, "terms") + "'");
        };
        var options = BisectOptions.defaults()
                .withSlots(slots)
                .withRepeat(repeat, rule)
                .withTimeoutVerdict(timeoutVerdict)
                .withTerms(terms)
                .withFirstParent(payload.path("first_parent").asBoolean(false));
        var github = payload.get("github");
        return new BisectRequest(
                repo,
                List.copyOf(goods),
                bad,
                command,
                argv == null ? null : List.copyOf(argv),
                image,
                timeout,
                options,
                payload.path("verdict_cache").asBoolean(false),
                github == null || github.isNull() ? null : github,
                caching(payload),
                metric);
    }

    /** The metric-mode settings of a payload; null unless {@code mode} is {@code metric}. */
    private static MetricOptions metric(JsonNode payload, BisectProperties limits) {
        var mode = text(payload, "mode") == null
                ? "pass-fail"
                : text(payload, "mode").toLowerCase(Locale.ROOT);
        if (mode.equals("pass-fail")) {
            for (var field : List.of("metric", "direction", "threshold", "alpha", "max_repeat")) {
                if (payload.has(field) && !payload.get(field).isNull()) {
                    throw new IllegalArgumentException(
                            "'" + field + "' applies only to \"mode\": \"metric\"; add it or drop '" + field + "'");
                }
            }
            return null;
        }
        if (!mode.equals("metric")) {
            throw new IllegalArgumentException(
                    "'mode' must be pass-fail or metric, got '" + text(payload, "mode") + "'");
        }
        var source = switch (text(payload, "metric") == null
                ? "stdout"
                : text(payload, "metric").toLowerCase(Locale.ROOT)) {
            case "stdout" -> MetricOptions.Source.STDOUT;
            case "wall" -> MetricOptions.Source.WALL;
            default ->
                throw new IllegalArgumentException(
                        "'metric' must be stdout (the last number the command prints) or wall "
                                + "(its wall time), got '" + text(payload, "metric") + "'");
        };
        var direction = switch (text(payload, "direction") == null
                ? "lower-is-better"
                : text(payload, "direction").toLowerCase(Locale.ROOT)) {
            case "lower-is-better" -> MetricOptions.Direction.LOWER_IS_BETTER;
            case "higher-is-better" -> MetricOptions.Direction.HIGHER_IS_BETTER;
            default ->
                throw new IllegalArgumentException("'direction' must be lower-is-better or higher-is-better, got '"
                        + text(payload, "direction") + "'");
        };
        int cap = limits.maxRepeat();
        if (cap < 2) {
            throw new IllegalArgumentException(
                    "metric mode needs at least 2 runs per commit, and this service allows " + cap + " (MAX_REPEAT)");
        }
        var repeat = payload.has("repeat")
                ? between(payload, "repeat", 2, cap)
                : Math.min(MetricOptions.DEFAULT_REPEAT, cap);
        var maxRepeat = payload.has("max_repeat")
                ? between(payload, "max_repeat", repeat, cap)
                : Math.max(repeat, Math.min(MetricOptions.DEFAULT_MAX_REPEAT, cap));
        var threshold = payload.has("threshold")
                ? decimal(payload, "threshold", 0, 1000, "a percentage, e.g. 10 for 10 %") / 100
                : MetricOptions.DEFAULT_THRESHOLD;
        var alpha = payload.has("alpha")
                ? decimal(payload, "alpha", 0, 1, "a significance level, e.g. 0.05")
                : MetricOptions.DEFAULT_ALPHA;
        return new MetricOptions(source, direction, repeat, maxRepeat, threshold, alpha);
    }

    private static int between(JsonNode payload, String field, int min, int max) {
        var node = payload.get(field);
        if (!node.canConvertToInt() || !node.isIntegralNumber() || node.asInt() < min || node.asInt() > max) {
            throw new IllegalArgumentException("'" + field + "' must be a whole number from " + min + " to " + max
                    + " in metric mode, got " + node);
        }
        return node.asInt();
    }

    /** A number strictly above {@code min} and at most {@code max} (below it for 1, as alpha). */
    private static double decimal(JsonNode payload, String field, double min, double max, String what) {
        var node = payload.get(field);
        double value = node.isNumber() ? node.asDouble() : Double.NaN;
        if (node.isString()) {
            try {
                value = Double.parseDouble(node.asString().trim());
            } catch (NumberFormatException e) {
                value = Double.NaN;
            }
        }
        boolean ok = value > min && (max == 1 ? value < max : value <= max);
        if (!ok) {
            throw new IllegalArgumentException("'" + field + "' must be " + what + ", above " + fmt(min) + " and "
                    + (max == 1 ? "below " : "at most ") + fmt(max) + ", got " + node);
        }
        return value;
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    /** The payload this request was read from, normalised; for {@code POST /bisect} and the command line. */
    public ObjectNode toPayload() {
        var node = JsonNodeFactory.instance.objectNode();
        node.put("repo", repo);
        var goods = node.putArray("good");
        good.forEach(goods::add);
        node.put("bad", bad);
        if (argv != null) {
            var parts = node.putArray("command");
            argv.forEach(parts::add);
        } else {
            node.put("command", command);
        }
        node.put("image", image);
        node.put("timeout_seconds", timeout.toSeconds());
        node.put("parallelism", options.slots());
        node.put("repeat", options.repeat());
        node.put("repeat_rule", options.rule().name().toLowerCase(Locale.ROOT).replace('_', '-'));
        node.put("timeout_verdict", options.timeoutVerdict().name().toLowerCase(Locale.ROOT));
        node.put("terms", options.terms() == BisectOptions.Terms.OLD_NEW ? "old/new" : "good/bad");
        node.put("first_parent", options.firstParent());
        node.put("verdict_cache", verdictCache);
        if (!caching.paths().isEmpty()) {
            var paths = node.putArray("cache");
            caching.paths().forEach(paths::add);
        }
        if (caching.bridgeNetwork()) {
            node.put("network", "bridge");
        }
        if (!caching.reuseTreeVerdicts()) {
            node.put("reuse_tree_verdicts", false);
        }
        if (metric != null) {
            node.put("mode", "metric");
            node.put("metric", metric.source().word());
            node.put("direction", metric.direction().word());
            node.put("repeat", metric.repeat());
            node.put("max_repeat", metric.maxRepeat());
            node.put("threshold", metric.threshold() * 100);
            node.put("alpha", metric.alpha());
        }
        if (github != null) {
            node.set("github", github);
        }
        return node;
    }

    private static Caching caching(JsonNode payload) {
        var paths = new ArrayList<String>();
        var cache = payload.get("cache");
        if (cache != null && cache.isArray()) {
            for (var path : cache) {
                if (!path.isString()) {
                    throw new IllegalArgumentException(
                            "'cache' must list absolute directories such as [\"/root/.m2/repository\"], got " + cache);
                }
                paths.add(path.asString());
            }
        } else if (cache != null && cache.isString()) {
            paths.add(cache.asString());
        } else if (cache != null && !cache.isNull()) {
            throw new IllegalArgumentException(
                    "'cache' must list absolute directories such as [\"/root/.m2/repository\"], got " + cache);
        }
        var network = text(payload, "network") == null
                ? "none"
                : text(payload, "network").toLowerCase(Locale.ROOT);
        if (!network.equals("none") && !network.equals("bridge")) {
            throw new IllegalArgumentException(
                    "'network' must be none or bridge, got '" + text(payload, "network") + "'");
        }
        var reuse = payload.get("reuse_tree_verdicts");
        if (reuse != null && !reuse.isNull() && !reuse.isBoolean()) {
            throw new IllegalArgumentException("'reuse_tree_verdicts' must be true or false, got " + reuse);
        }
        return new Caching(
                CachePaths.check("'cache'", paths, null),
                network.equals("bridge"),
                reuse == null || reuse.isNull() || reuse.asBoolean());
    }

    /**
     * Dependency cache paths checked as a request's {@code cache} is, for the settings that give a bisect its paths
     * elsewhere (a repository's config); throws {@link IllegalArgumentException} naming {@code field} and the value.
     */
    public static List<String> checkCachePaths(String field, List<String> paths) {
        return CachePaths.check(field, paths, null);
    }

    private static String text(JsonNode payload, String field) {
        var node = payload.get(field);
        return node == null || node.isNull() || node.asString().isBlank()
                ? null
                : node.asString().trim();
    }

    private static int positive(JsonNode payload, String field, long max) {
        var node = payload.get(field);
        if (!node.canConvertToInt() || node.asInt() < 1 || node.asInt() > max) {
            throw new IllegalArgumentException(
                    "'" + field + "' must be a whole number from 1 to " + max + ", got " + node);
        }
        return node.asInt();
    }

    private static void requireRef(String field, String ref) {
        // A ref starting with '-' would be read by git as an option.
        if (!REF.matcher(ref).matches() || ref.startsWith("-")) {
            throw new IllegalArgumentException("'" + field + "' is not a valid git ref: '" + ref + "'");
        }
    }
}
