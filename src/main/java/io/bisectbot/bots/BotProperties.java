package io.bisectbot.bots;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Settings of bot jobs.
 *
 * @param defaultTimeout       a task's timeout when its config names none
 * @param secretsFile          the granted secrets and their scopes ({@link BotSecrets}); none when unset
 * @param changedFileMaxSize   largest single changed file a pull_request output proposes
 * @param changedFilesMaxTotal largest sum of changed files a pull_request output proposes
 */
@ConfigurationProperties("bisectbot.bots")
public record BotProperties(
        @DefaultValue("30m") Duration defaultTimeout,
        Path secretsFile,
        @DefaultValue("10MB") DataSize changedFileMaxSize,
        @DefaultValue("100MB") DataSize changedFilesMaxTotal) {

    /** The defaults with another task timeout, for code that builds bot jobs without Spring (tests). */
    public static BotProperties withTimeout(Duration defaultTimeout) {
        return new BotProperties(defaultTimeout, null, DataSize.ofMegabytes(10), DataSize.ofMegabytes(100));
    }
}
