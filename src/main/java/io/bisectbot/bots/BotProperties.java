package io.bisectbot.bots;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Settings of bot jobs.
 *
 * @param defaultTimeout       a bot task's timeout when it names none
 * @param secretsFile          YAML file of the secrets bot tasks may receive, each with the repositories and
 *                             installations it is granted to
 * @param changedFileMaxSize   largest changed file a {@code pull_request} output proposes
 * @param changedFilesMaxTotal largest sum of changed files a {@code pull_request} output proposes
 */
@ConfigurationProperties("bisectbot.bots")
public record BotProperties(
        @DefaultValue("30m") Duration defaultTimeout,
        Path secretsFile,
        @DefaultValue("10MB") DataSize changedFileMaxSize,
        @DefaultValue("100MB") DataSize changedFilesMaxTotal) {

    /** The defaults above, for code that builds bot jobs without Spring (tests). */
    public static BotProperties defaults() {
        return new Binder().bindOrCreate("bisectbot.bots", BotProperties.class);
    }

    /** The defaults with another task timeout. */
    public static BotProperties withTimeout(Duration defaultTimeout) {
        var defaults = defaults();
        return new BotProperties(
                defaultTimeout, defaults.secretsFile(), defaults.changedFileMaxSize(), defaults.changedFilesMaxTotal());
    }
}
