package io.bisectbot.cache;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Limits of the dependency cache volumes.
 *
 * @param maxSize      most the caches of one repository (one installation, one trust) may hold; above it, its least
 *                     recently used volumes are removed after the job that grew them
 * @param totalMaxSize most all caches may hold together; above it, the caches of the least recently used
 *                     repositories are removed
 */
@ConfigurationProperties("bisectbot.cache")
public record CacheProperties(
        @DefaultValue("5GB") DataSize maxSize,
        @DefaultValue("50GB") DataSize totalMaxSize) {

    public static CacheProperties defaults() {
        return new CacheProperties(DataSize.ofGigabytes(5), DataSize.ofGigabytes(50));
    }
}
