package io.bisectbot.bisect;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Settings of bisect jobs.
 *
 * @param cacheDir        where bare mirrors of repositories are kept between jobs
 * @param defaultImage    image of test steps when a job names none
 * @param defaultTimeout  per-run timeout when a job names none
 * @param maxTimeout      largest per-run timeout a job may ask for
 * @param maxParallelism  most commits one job tests at once (each is a container)
 * @param maxRepeat       most runs per commit a job may ask for
 * @param allowLocalRepos accept a local path as {@code repo} (tests, the command line); off for a shared service
 * @param cacheMaxAge     a mirror unused this long is deleted
 * @param cacheMaxSize    above this, the least recently used mirrors are deleted
 */
@ConfigurationProperties("bisectbot.bisect")
public record BisectProperties(
        @DefaultValue("data/git") Path cacheDir,
        @DefaultValue("debian:bookworm") String defaultImage,
        @DefaultValue("10m") Duration defaultTimeout,
        @DefaultValue("2h") Duration maxTimeout,
        @DefaultValue("4") int maxParallelism,
        @DefaultValue("20") int maxRepeat,
        @DefaultValue("false") boolean allowLocalRepos,
        @DefaultValue("14d") Duration cacheMaxAge,
        @DefaultValue("20GB") org.springframework.util.unit.DataSize cacheMaxSize) {
}
