package io.bisectbot.bisect;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Settings of bisect jobs. Their image, when a job names none, is the executor's default step image; their mirrors
 * are the git settings'.
 *
 * @param defaultTimeout  default per-run timeout of bisect steps
 * @param maxTimeout      largest per-run timeout of bisect steps
 * @param maxParallelism  most commits one bisect job tests at once (each a container)
 * @param maxRepeat       most runs per commit for flaky tests
 * @param allowLocalRepos accept a local path as a bisect job's {@code repo} (the command line turns it on)
 * @param enabled         {@code false} makes an instance leave bisect jobs to others
 */
@ConfigurationProperties("bisectbot.bisect")
public record BisectProperties(
        @DefaultValue("10m") Duration defaultTimeout,
        @DefaultValue("2h") Duration maxTimeout,
        @DefaultValue("4") int maxParallelism,
        @DefaultValue("20") int maxRepeat,
        @DefaultValue("false") boolean allowLocalRepos,
        @DefaultValue("true") boolean enabled) {}
