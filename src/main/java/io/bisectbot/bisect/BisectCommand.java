package io.bisectbot.bisect;

import io.bisectbot.executor.ExecutorProperties;
import io.bisectbot.executor.StepSpec;
import io.bisectbot.git.GitRepository;
import io.bisectbot.queue.JobContext;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.JobStatus;
import io.bisectbot.queue.NewJob;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code bisectbot bisect --repo . --good v1.2 --bad HEAD -- ./run-test.sh}: one bisection on this machine with the
 * same engine, Docker executor and database as the service, printing progress and the report.
 * Exit status: see {@link #USAGE}.
 */
public final class BisectCommand {

    static final String USAGE = """
            usage: bisectbot bisect --good REF [--good REF ...] [--bad REF] [--repo DIR|URL] [options] -- COMMAND [ARGS...]

              --repo DIR|URL        repository to bisect (default: the current directory)
              --good REF            a known-good ref (repeatable; at least one)
              --bad REF             the known-bad ref (default: HEAD)
              --image IMAGE         image the command runs in (default: DEFAULT_STEP_IMAGE or debian:bookworm)
              --timeout DURATION    per run, e.g. 90s, 10m (default: 10m); a timed-out run counts as skip
              --timeout-bad         count a timed-out run as bad instead
              -k, --parallelism N   commits tested at once (default: 1, exactly git's choices)
              --repeat N            runs per commit, for flaky tests (default: 1; in metric mode 5)
              --rule RULE           all-fail | any-fail | majority (default: all-fail)
              --first-parent        follow only first parents
              --old-new             say old/new instead of good/bad
              --cache PATH          keep this absolute directory between steps (repeatable), e.g. /root/.m2/repository
              --network bridge      give steps network (default: none), e.g. to download dependencies
              --no-tree-reuse       test every commit, even one with the same tree as a tested commit
              --mode MODE           pass-fail (default) | metric: find the commit that made a number worse
              --metric SOURCE       metric mode: stdout (default; the last number the command prints) | wall (its time)
              --direction DIR       metric mode: lower-is-better (default) | higher-is-better
              --threshold PCT       metric mode: smallest median change that counts, in percent (default: 10)
              --alpha A             metric mode: significance level of the Mann-Whitney U test (default: 0.05)
              --max-repeat N        metric mode: most runs per commit when inconclusive (default: 20)
              --format FORMAT       text (default) | markdown (the report posted on GitHub) | json (the job result)
              -h, --help            this text

            The command runs in a container with the commit's files in its working directory and no network
            (unless --network bridge); the --cache directories are volumes of this repository, kept between steps;
            exit 0 = good, 125 = skip, 1-127 = bad, 128 or more = the run could not decide (retried).
            In metric mode each run must exit 0 (and, with --metric stdout, print a number); a commit is bad when
            its median is worse than the good end's by the threshold and the Mann-Whitney U test says so at alpha.

            Exit status: 0 first bad commit found, 1 no single culprit (only skipped commits left, or in metric
            mode no significant change between the ends),
            2 usage error, 3 the given ends do not verify (good is not good, or bad not bad),
            4 infrastructure (Docker, git, database) or the bisection could not finish.""";

    static final int FOUND = 0;
    static final int NO_SINGLE_CULPRIT = 1;
    static final int USAGE_ERROR = 2;
    static final int ENDS_DO_NOT_VERIFY = 3;
    static final int INFRASTRUCTURE = 4;
    private static final List<String> FORMATS = List.of("text", "markdown", "json");

    /** Command-line words that were not understood. */
    static final class UsageException extends IllegalArgumentException {
        UsageException(String message) {
            super(message);
        }
    }

    private BisectCommand() {}

    /** Parses the words after {@code bisect} into a job payload. */
    static ObjectNode parse(String[] args) {
        var payload = JsonNodeFactory.instance.objectNode();
        var goods = new ArrayList<String>();
        var command = new ArrayList<String>();
        String repo = ".";
        for (int i = 0; i < args.length; i++) {
            var arg = args[i];
            if (arg.equals("--")) {
                command.addAll(List.of(args).subList(i + 1, args.length));
                break;
            }
            switch (arg) {
                case "--repo" -> repo = value(args, ++i, arg);
                case "--good" -> goods.add(value(args, ++i, arg));
                case "--bad" -> payload.put("bad", value(args, ++i, arg));
                case "--image" -> payload.put("image", value(args, ++i, arg));
                case "--timeout" ->
                    payload.put(
                            "timeout_seconds", duration(value(args, ++i, arg)).toSeconds());
                case "--timeout-bad" -> payload.put("timeout_verdict", "bad");
                case "-k", "--parallelism" -> payload.put("parallelism", number(value(args, ++i, arg), arg));
                case "--repeat" -> payload.put("repeat", number(value(args, ++i, arg), arg));
                case "--rule" -> payload.put("repeat_rule", value(args, ++i, arg));
                case "--first-parent" -> payload.put("first_parent", true);
                case "--old-new" -> payload.put("terms", "old/new");
                case "--cache" ->
                    (payload.has("cache")
                                    ? (tools.jackson.databind.node.ArrayNode) payload.get("cache")
                                    : payload.putArray("cache"))
                            .add(value(args, ++i, arg));
                case "--network" -> payload.put("network", value(args, ++i, arg));
                case "--no-tree-reuse" -> payload.put("reuse_tree_verdicts", false);
                case "--mode" -> payload.put("mode", value(args, ++i, arg));
                case "--metric" -> payload.put("metric", value(args, ++i, arg));
                case "--direction" -> payload.put("direction", value(args, ++i, arg));
                case "--threshold" -> payload.put("threshold", decimal(value(args, ++i, arg), arg));
                case "--alpha" -> payload.put("alpha", decimal(value(args, ++i, arg), arg));
                case "--max-repeat" -> payload.put("max_repeat", number(value(args, ++i, arg), arg));
                case "--format" -> format(value(args, ++i, arg));
                default -> throw new UsageException("unknown option '" + arg + "'");
            }
        }
        if (goods.isEmpty()) {
            throw new UsageException("at least one --good REF is required");
        }
        checkChoice(payload, "mode", "--mode", List.of("pass-fail", "metric"));
        checkChoice(payload, "metric", "--metric", List.of("stdout", "wall"));
        checkChoice(payload, "direction", "--direction", List.of("lower-is-better", "higher-is-better"));
        if (!"metric".equals(payload.path("mode").asString(""))) {
            for (var option : List.of("metric", "direction", "threshold", "alpha", "max_repeat")) {
                if (payload.has(option)) {
                    throw new UsageException("--" + option.replace('_', '-') + " applies only to --mode metric");
                }
            }
        }
        if (command.isEmpty()) {
            throw new UsageException("the test command is missing: put it after '--'");
        }
        payload.put(
                "repo",
                GitRepository.isRemote(repo)
                        ? repo
                        : Path.of(repo).toAbsolutePath().normalize().toString());
        var goodArray = payload.putArray("good");
        goods.forEach(goodArray::add);
        if (!payload.has("bad")) {
            payload.put("bad", "HEAD");
        }
        var argv = payload.putArray("command");
        command.forEach(argv::add);
        return payload;
    }

    /** The output format the words ask for: text, markdown or json. */
    static String format(String[] args) {
        var format = "text";
        for (int i = 0; i < args.length - 1 && !args[i].equals("--"); i++) {
            if (args[i].equals("--format")) {
                format = format(args[i + 1]);
            }
        }
        return format;
    }

    private static String format(String value) {
        if (!FORMATS.contains(value)) {
            throw new UsageException("--format needs one of " + String.join(", ", FORMATS) + ", got '" + value + "'");
        }
        return value;
    }

    /** The exit status for an outcome type of the job result ({@code outcome.type}). */
    static int exitStatus(String outcomeType) {
        return switch (outcomeType) {
            case "first_bad" -> FOUND;
            case "only_skipped_left", "no_significant_change" -> NO_SINGLE_CULPRIT;
            case "ends_not_as_expected", "merge_base_bad" -> ENDS_DO_NOT_VERIFY;
            default -> INFRASTRUCTURE;
        };
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length || args[i].equals("--")) {
            throw new UsageException(option + " needs a value");
        }
        return args[i];
    }

    private static int number(String text, String option) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new UsageException(option + " needs a whole number, got '" + text + "'");
        }
    }

    private static void checkChoice(ObjectNode payload, String field, String option, List<String> choices) {
        if (payload.has(field) && !choices.contains(payload.get(field).asString())) {
            throw new UsageException(option + " needs one of " + String.join(", ", choices) + ", got '"
                    + payload.get(field).asString() + "'");
        }
    }

    private static double decimal(String text, String option) {
        try {
            return Double.parseDouble(text.endsWith("%") ? text.substring(0, text.length() - 1) : text);
        } catch (NumberFormatException e) {
            throw new UsageException(option + " needs a number, got '" + text + "'");
        }
    }

    private static Duration duration(String text) {
        try {
            return text.matches("\\d+")
                    ? Duration.ofSeconds(Long.parseLong(text))
                    : Duration.parse("PT" + text.toUpperCase(java.util.Locale.ROOT));
        } catch (DateTimeParseException e) {
            throw new UsageException("--timeout needs a duration such as 90s or 10m, got '" + text + "'");
        }
    }

    /** Properties the command runs the service with: no web server, no GitHub or bots, local paths allowed, quiet logs. */
    public static Map<String, Object> properties() {
        var home = Path.of(System.getProperty("user.home"), ".bisectbot");
        var properties = new HashMap<String, Object>();
        properties.put("spring.main.web-application-type", "none");
        properties.put("bisectbot.bisect.allow-local-repos", "true");
        properties.put("bisectbot.queue.max-concurrent-jobs", "1");
        // Keep the user's repository clean: the database and mirrors live in ~/.bisectbot unless configured.
        properties.put(
                "bisectbot.database.embedded-data-dir",
                System.getenv()
                        .getOrDefault("EMBEDDED_PG_DIR", home.resolve("pg").toString()));
        properties.put(
                "bisectbot.git.cache-dir",
                System.getenv()
                        .getOrDefault("GIT_CACHE_DIR", home.resolve("git").toString()));
        properties.put("logging.structured.format.console", "");
        properties.put("logging.level.root", System.getenv().getOrDefault("LOG_LEVEL", "WARN"));
        // One-shot mode: no GitHub App, no bots (so none of their "not configured" warnings), and only the beans the
        // bisection uses are created, which keeps the time to the first step short.
        properties.put("bisectbot.mode", "bisect");
        properties.put("spring.main.lazy-initialization", "true");
        // Ctrl-C (or the first process of the command gone, see ShortLivedJvm) stops the running steps at once
        // instead of letting them finish, and that is no news worth a warning here.
        properties.put("bisectbot.queue.shutdown-grace", "0s");
        properties.put("logging.level.io.bisectbot.queue.QueueNode", "ERROR");
        // The local database is the user's own: its "not encrypted" notice is for servers.
        properties.put("logging.level.io.bisectbot.crypto", "ERROR");
        return properties;
    }

    /** Checks the words before anything starts; null when they are fine, else the exit status to end with. */
    public static Integer checkUsage(String[] args, PrintStream out, PrintStream err) {
        if (List.of(args).contains("-h") && !List.of(args).contains("--")
                || List.of(args).contains("--help")) {
            out.println(USAGE);
            return 0;
        }
        try {
            parse(args);
            return null;
        } catch (UsageException e) {
            err.println("bisectbot bisect: " + e.getMessage());
            err.println(USAGE);
            return USAGE_ERROR;
        }
    }

    /** Registers what keeps the finished result for {@link #run}; call before the application starts. */
    public static void prepare(SpringApplication app) {
        app.addInitializers(
                context -> context.getBeanFactory().registerSingleton("bisectCommandResult", new LastResult()));
    }

    /** Keeps the result of the one bisection of this process, for the text report, and passes its progress on. */
    static final class LastResult implements BisectListener {
        private volatile BisectResult result;
        private volatile BisectProgress progress = BisectProgress.NONE;

        @Override
        public void started(JobContext job, BisectRequest request) {}

        @Override
        public void finished(JobContext job, BisectRequest request, BisectResult result, String report) {
            this.result = result;
        }

        @Override
        public BisectProgress progress(JobContext job) {
            return progress;
        }
    }

    /** Runs the bisection in a started application context and prints what happens; returns the exit status. */
    public static int run(ConfigurableApplicationContext context, String[] args, PrintStream out)
            throws InterruptedException {
        return run(context, args, out, System.err, Terminal.detect());
    }

    static int run(
            ConfigurableApplicationContext context, String[] args, PrintStream out, PrintStream err, Terminal terminal)
            throws InterruptedException {
        var payload = parse(args);
        var format = format(args);
        var colour = "text".equals(format) && terminal.stdout();
        var request = BisectRequest.parse(
                payload,
                context.getBean(BisectProperties.class),
                context.getBean(ExecutorProperties.class).defaultImage());
        var queue = context.getBean(JobQueue.class);
        var jdbc = JdbcClient.create(context.getBean(javax.sql.DataSource.class));
        var status = statusLine(format, out, err, terminal, System::nanoTime);
        var last = context.getBean(LastResult.class);
        last.progress = status;
        var job = queue.enqueue(
                        NewJob.of(BisectJobHandler.KIND, request.toPayload()).withMaxAttempts(1))
                .job();
        status.println("Bisecting %s: bad %s, good %s, command: %s (job %d)"
                .formatted(
                        request.repo(),
                        request.bad(),
                        String.join(" ", request.good()),
                        request.commandText(),
                        job.id()));
        var printed = 0;
        long polledAt = 0;
        while (true) {
            // The status line is redrawn four times a second; the database is asked for finished steps twice.
            var now = System.nanoTime();
            if (now - polledAt >= 500_000_000L) {
                polledAt = now;
                var steps = finishedSteps(jdbc, job.id(), printed);
                steps.forEach(status::println);
                printed += steps.size();
                var current = queue.find(job.id()).orElseThrow();
                if (current.status().isFinal()) {
                    status.clear();
                    status.println("");
                    return finish(context, current, format, out, status, last, request, colour);
                }
            }
            status.refresh();
            Thread.sleep(250);
        }
    }

    /**
     * Progress goes to standard output with the text report, to standard error when the report is for a machine (so
     * standard output stays parseable); a live status line only when that stream is a terminal.
     */
    static StatusLine statusLine(
            String format,
            PrintStream out,
            PrintStream err,
            Terminal terminal,
            java.util.function.LongSupplier nanoTime) {
        var toStdout = "text".equals(format);
        return new StatusLine(
                toStdout ? out : err, terminal.progressIsTerminal(toStdout), terminal.columns(), nanoTime);
    }

    private static List<String> finishedSteps(JdbcClient jdbc, long jobId, int from) {
        return jdbc.sql("""
                        SELECT seq, commit_sha, run_index, purpose, outcome, exit_code, verdict, duration_ms
                          FROM bisect_steps WHERE job_id = :id AND seq >= :from ORDER BY seq""")
                .param("id", jobId)
                .param("from", from)
                .query((rs, row) -> "  %-8s %s run %d: %s%s, %.1f s"
                        .formatted(
                                rs.getString("purpose").toLowerCase(),
                                rs.getString("commit_sha").substring(0, 10),
                                rs.getInt("run_index") + 1,
                                rs.getString("verdict") == null
                                        ? "no verdict"
                                        : rs.getString("verdict").toLowerCase(),
                                rs.getObject("exit_code") == null
                                        ? " (" + rs.getString("outcome").toLowerCase() + ")"
                                        : " (exit " + rs.getInt("exit_code") + ")",
                                rs.getLong("duration_ms") / 1000.0))
                .list();
    }

    private static int finish(
            ConfigurableApplicationContext context,
            io.bisectbot.queue.Job job,
            String format,
            PrintStream out,
            StatusLine status,
            LastResult last,
            BisectRequest request,
            boolean colour) {
        if (job.status() != JobStatus.SUCCEEDED) {
            status.println("The bisection failed: " + job.lastError());
            return INFRASTRUCTURE;
        }
        var result = job.result();
        switch (format) {
            case "json" -> out.println(result.toPrettyString());
            case "markdown" -> out.println(result.get("report").asString());
            default -> {
                var finished = last.result;
                out.print(
                        finished == null
                                ? result.get("report").asString()
                                : BisectReport.terminal(
                                        finished,
                                        request.commandText(),
                                        dockerLine(context, request, finished),
                                        BisectReport.environmentTerminal(request),
                                        colour));
            }
        }
        return exitStatus(result.get("outcome").get("type").asString());
    }

    /** One step run exactly as the executor ran it: at the culprit, else at the bad end. */
    private static String dockerLine(
            ConfigurableApplicationContext context, BisectRequest request, BisectResult result) {
        var executor = context.getBean(ExecutorProperties.class);
        var commit = result.outcome() instanceof BisectOutcome.FirstBad first
                ? first.commit().sha()
                : result.bad();
        var limits = executor.defaults();
        return BisectReport.dockerReproduce(
                commit,
                request.image(),
                request.commandWords(),
                executor.defaultUser(),
                limits.memory().toBytes(),
                limits.cpus(),
                limits.pids(),
                executor.tmpSize().toBytes(),
                StepSpec.DEFAULT_WORKING_DIR,
                request.cacheVolumes(),
                request.network());
    }
}
