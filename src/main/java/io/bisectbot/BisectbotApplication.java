package io.bisectbot;

import io.bisectbot.bisect.BisectCommand;
import io.bisectbot.callbacks.CallbacksCommand;
import io.bisectbot.config.LogFormat;
import io.bisectbot.crypto.KeysCommand;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * Entry point. {@code java -jar bisectbot.jar} serves; {@code java -jar bisectbot.jar migrate} applies the
 * database migrations and exits (run it once before a rollout); {@code java -jar bisectbot.jar bisect ...} runs one
 * bisection on this machine and prints its report; {@code java -jar bisectbot.jar callbacks replay ...} re-queues
 * dead-lettered callback events; {@code java -jar bisectbot.jar keys ...} makes and rotates encryption keys.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class BisectbotApplication {

    public static void main(String[] args) {
        LogFormat.chooseDefault();
        // Callbacks connect to the address they checked and name the host in the Host header, which the JDK's
        // HttpClient allows only when told so before its first use.
        if (System.getProperty("jdk.httpclient.allowRestrictedHeaders") == null) {
            System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
        }
        if (args.length > 0 && (args[0].equals("--version") || args[0].equals("-V"))) {
            System.out.println(version());
            return;
        }
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println(HELP);
            return;
        }
        var mode = args.length > 0 && !args[0].startsWith("-") ? args[0] : "serve";
        switch (mode) {
            case "serve" -> SpringApplication.run(BisectbotApplication.class, args);
            case "migrate" -> migrate(Arrays.copyOfRange(args, 1, args.length));
            case "bisect" -> bisect(args);
            case "callbacks" -> callbacks(Arrays.copyOfRange(args, 1, args.length));
            case "keys" -> keys(Arrays.copyOfRange(args, 1, args.length));
            case "help" -> System.out.println(HELP);
            default -> {
                System.err.println("bisectbot: unknown command '" + mode + "'.\n\n" + HELP);
                System.exit(2);
            }
        }
    }

    static final String HELP = """
            usage: bisectbot [serve]                 serve the GitHub App, the API and the queue workers
                   bisectbot migrate               apply the database migrations and exit
                   bisectbot bisect --good REF -- COMMAND...
                                                   find the first bad commit on this machine (bisectbot bisect --help)
                   bisectbot callbacks replay --job N | --since TIME
                                                   re-queue dead-lettered callback events (bisectbot callbacks --help)
                   bisectbot keys generate|rotate  make an encryption key, or re-encrypt stored data with the
                                                   first key (bisectbot keys help)
                   bisectbot --version             print the version
                   bisectbot help                  this text

            Settings are environment variables (DATABASE_URL, PORT, ...); see the README's Settings table.""";

    static String version() {
        var version = BisectbotApplication.class.getPackage().getImplementationVersion();
        return "bisectbot " + (version == null ? "(development build)" : version);
    }

    private static void bisect(String[] commandLine) {
        var args = Arrays.copyOfRange(commandLine, 1, commandLine.length);
        var usage = BisectCommand.checkUsage(args, System.out, System.err);
        if (usage != null) {
            System.exit(usage);
        }
        var relaunched = ShortLivedJvm.relaunch(commandLine);
        if (relaunched.isPresent()) {
            System.exit(relaunched.getAsInt());
        }
        var app = new SpringApplication(OneShotApplication.class);
        BisectCommand.prepare(app);
        // As command-line properties, so they win over application.yml's environment defaults.
        var properties = BisectCommand.properties().entrySet().stream()
                .map(e -> "--" + e.getKey() + "=" + e.getValue())
                .toArray(String[]::new);
        var stopping = new AtomicBoolean();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stopping.set(true), "bisect-stopping"));
        int status;
        try (var context = app.run(properties)) {
            status = BisectCommand.run(context, args, System.out);
        } catch (IllegalArgumentException e) {
            System.err.println("bisectbot bisect: " + e.getMessage());
            status = 2;
        } catch (InterruptedException e) {
            status = 130;
        } catch (RuntimeException e) {
            if (stopping.get()) {
                // Interrupted: the context closed under the command while it waited for the job.
                System.err.println("bisectbot bisect: stopped; its running steps were stopped too");
                status = 130;
            } else {
                // The reason was printed by the start-failure report, or is the message here.
                System.err.println("bisectbot bisect: could not run: " + e.getMessage());
                status = 4;
            }
        }
        System.exit(status);
    }

    private static void callbacks(String[] args) {
        var usage = CallbacksCommand.checkUsage(args, System.out, System.err);
        if (usage != null) {
            System.exit(usage);
        }
        var app = new SpringApplication(BisectbotApplication.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        int status;
        // Like migrate: no worker or loop starts, only the database is opened.
        try (var context = app.run(
                "--bisectbot.mode=callbacks", "--logging.level.root=WARN", "--logging.structured.format.console=")) {
            status = CallbacksCommand.run(context, args, System.out);
        } catch (RuntimeException e) {
            System.err.println("bisectbot callbacks: could not replay: " + e.getMessage());
            status = 4;
        }
        System.exit(status);
    }

    private static void keys(String[] args) {
        var handled = KeysCommand.handleWithoutDatabase(args, System.out, System.err);
        if (handled != null) {
            System.exit(handled);
        }
        var app = new SpringApplication(BisectbotApplication.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        // No worker, loop or web server: only the database (migrated as for serving) and the keys.
        int status;
        try (var context = app.run("--bisectbot.mode=keys")) {
            status = KeysCommand.rotate(context, args, System.out, System.err);
        } catch (RuntimeException e) {
            // The reason was printed by the start-failure report, or is the message here.
            System.err.println("bisectbot keys rotate: could not run: " + e.getMessage());
            status = 1;
        }
        System.exit(status);
    }

    private static void migrate(String[] args) {
        var app = new SpringApplication(BisectbotApplication.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        // Migration mode: the DataSource applies migrations while it starts, and no worker or loop is created.
        // As command-line properties, so they win over application.yml's MIGRATE_ON_START default (empty).
        var properties = new String[args.length + 2];
        properties[0] = "--bisectbot.mode=migrate";
        properties[1] = "--bisectbot.database.migrate-on-start=true";
        System.arraycopy(args, 0, properties, 2, args.length);
        System.exit(SpringApplication.exit(app.run(properties)));
    }
}
