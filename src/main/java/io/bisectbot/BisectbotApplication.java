package io.bisectbot;

import java.util.Arrays;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * Entry point. {@code java -jar bisectbot.jar} serves; {@code java -jar bisectbot.jar migrate} applies the
 * database migrations and exits (run it once before a rollout).
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class BisectbotApplication {

    public static void main(String[] args) {
        var mode = args.length > 0 && !args[0].startsWith("-") ? args[0] : "serve";
        switch (mode) {
            case "serve" -> SpringApplication.run(BisectbotApplication.class, args);
            case "migrate" -> migrate(Arrays.copyOfRange(args, 1, args.length));
            default -> {
                System.err.println("bisectbot: unknown command '" + mode + "'. Usage: bisectbot [serve|migrate] [--property=value ...]");
                System.exit(2);
            }
        }
    }

    private static void migrate(String[] args) {
        var app = new SpringApplication(BisectbotApplication.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        // Migration mode: the DataSource applies migrations while it starts, and no worker or loop is created.
        app.setDefaultProperties(java.util.Map.of("bisectbot.mode", "migrate", "bisectbot.database.migrate-on-start", "true"));
        System.exit(SpringApplication.exit(app.run(args)));
    }
}
