package io.bisectbot.callbacks;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Instant;
import javax.sql.DataSource;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.json.JsonMapper;

/** {@code bisectbot callbacks replay [--job N] [--since T]}: puts dead-lettered callback events back in line. */
public final class CallbacksCommand {

    public static final String USAGE = """
            usage: bisectbot callbacks replay --job N          replay the dead-lettered events of job N
                   bisectbot callbacks replay --since TIME     replay events dead-lettered at or after TIME (ISO-8601, e.g. 2026-01-31T00:00:00Z)

            Both may be given (events of job N dead-lettered since TIME). Running instances deliver the replayed events;
            DATABASE_URL says which database.""";

    private CallbacksCommand() {}

    record Replay(Long job, Instant since) {}

    /** Checks the words before anything starts; null when they are fine, else the exit status to end with. */
    public static Integer checkUsage(String[] args, PrintStream out, PrintStream err) {
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help"))) {
            out.println(USAGE);
            return 0;
        }
        try {
            parse(args);
            return null;
        } catch (IllegalArgumentException e) {
            err.println("bisectbot callbacks: " + e.getMessage() + "\n\n" + USAGE);
            return 2;
        }
    }

    static Replay parse(String[] args) {
        if (args.length == 0 || !args[0].equals("replay")) {
            throw new IllegalArgumentException(
                    args.length == 0 ? "say what to do: replay" : "unknown callbacks command '" + args[0] + "'");
        }
        Long job = null;
        Instant since = null;
        for (int i = 1; i < args.length; i++) {
            var option = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            var value = args[++i];
            switch (option) {
                case "--job" -> {
                    try {
                        job = Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--job takes a job id (a number), got '" + value + "'");
                    }
                }
                case "--since" -> since = CallbackAdminController.parseSince(value);
                default ->
                    throw new IllegalArgumentException(
                            "unknown option '" + option + "'; replay takes --job N and --since TIME");
            }
        }
        if (job == null && since == null) {
            throw new IllegalArgumentException("say which dead letters to replay: --job N or --since TIME");
        }
        return new Replay(job, since);
    }

    /** Replays in a started application context and says how many; returns the exit status. */
    public static int run(ConfigurableApplicationContext context, String[] args, PrintStream out) {
        var replay = parse(args);
        var outbox = new CallbackOutbox(
                context.getBean(DataSource.class), JsonMapper.builder().build(), Clock.systemUTC());
        var count = outbox.replay(replay.job(), replay.since());
        out.println("Replayed " + count + " dead-lettered callback event" + (count == 1 ? "" : "s")
                + (replay.job() != null ? " of job " + replay.job() : "")
                + (replay.since() != null ? " dead-lettered since " + replay.since() : "")
                + (count > 0 ? "; running instances deliver them now." : "."));
        return 0;
    }
}
