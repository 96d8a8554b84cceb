package io.bisectbot.git;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Settings of the mirror cache that bisect and bot jobs share.
 *
 * @param cacheDir     bare mirrors of repositories, fetched rather than cloned again
 * @param cacheMaxAge  a mirror unused that long is deleted
 * @param cacheMaxSize above that size the least recently used mirrors are deleted first
 */
@ConfigurationProperties("bisectbot.git")
public record GitProperties(
        @DefaultValue("data/git") Path cacheDir,
        @DefaultValue("14d") Duration cacheMaxAge,
        @DefaultValue("20GB") DataSize cacheMaxSize) {

    /** The defaults above, for code that builds jobs without Spring (tests, benchmarks). */
    public static GitProperties defaults() {
        return new Binder().bindOrCreate("bisectbot.git", GitProperties.class);
    }

    public GitProperties withCacheDir(Path dir) {
        return new GitProperties(dir, cacheMaxAge, cacheMaxSize);
    }
}
