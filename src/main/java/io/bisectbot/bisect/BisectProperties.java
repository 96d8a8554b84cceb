package io.bisectbot.bisect;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Settings of bisect jobs, and of the git mirrors that bot tasks share.
 *
 * @param cacheDir        bare mirrors of repositories, fetched rather than cloned again
 * @param defaultImage    image of bisect steps and bot tasks that name none
 * @param defaultTimeout  default per-run timeout of bisect steps
 * @param maxTimeout      largest per-run timeout of bisect steps
 * @param maxParallelism  most commits one bisect job tests at once (each a container)
 * @param maxRepeat       most runs per commit for flaky tests
 * @param allowLocalRepos accept a local path as a bisect job's {@code repo} (the command line turns it on)
 * @param cacheMaxAge     a mirror unused that long is deleted
 * @param cacheMaxSize    above that size the least recently used mirrors are deleted first
 * @param enabled         {@code false} makes an instance leave bisect jobs to others
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
        @DefaultValue("20GB") DataSize cacheMaxSize,
        @DefaultValue("true") boolean enabled) {
}
