package io.bisectbot.cache;

import io.bisectbot.executor.DockerExecutor;
import io.bisectbot.executor.StepSpec;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Keeps the table of cache volumes ({@code cache_volumes}) so that every instance agrees on sizes and last use, and
 * keeps the caches within {@code CACHE_MAX_SIZE} per repository and {@code CACHE_TOTAL_MAX_SIZE} in all by removing
 * the least recently used volumes. A volume still mounted by a running step cannot be removed; it stays listed and
 * goes on a later pass.
 */
public final class CacheRegistry {

    private static final Logger log = LoggerFactory.getLogger(CacheRegistry.class);

    private final JdbcClient jdbc;
    private final DockerExecutor executor;
    private final CacheProperties properties;
    private final Clock clock;

    public CacheRegistry(JdbcClient jdbc, DockerExecutor executor, CacheProperties properties, Clock clock) {
        this.jdbc = jdbc;
        this.executor = executor;
        this.properties = properties;
        this.clock = clock;
    }

    /** Records that a job is about to use these volumes (their last use is now). */
    public void used(List<StepSpec.Cache> volumes, String repository, long installationId, boolean trusted) {
        var now = clock.instant().atOffset(ZoneOffset.UTC);
        for (var v : volumes) {
            jdbc.sql("""
                            INSERT INTO cache_volumes (volume, scope_hash, repository, installation_id, trusted, path,
                                                       created_at, last_used_at)
                            VALUES (:volume, :scope, :repository, :installation, :trusted, :path, :now, :now)
                            ON CONFLICT (volume) DO UPDATE SET last_used_at = GREATEST(cache_volumes.last_used_at, EXCLUDED.last_used_at)""")
                    .param("volume", v.volume())
                    .param("scope", v.scope())
                    .param("repository", repository)
                    .param("installation", installationId)
                    .param("trusted", trusted)
                    .param("path", v.path())
                    .param("now", now)
                    .update();
        }
    }

    /**
     * After a job: measures its volumes, then removes volumes until its repository and all repositories are within
     * their limits. Never throws: a cache that cannot be measured or removed now is handled by a later job.
     */
    public void finished(List<StepSpec.Cache> volumes) {
        if (volumes.isEmpty()) {
            return;
        }
        try {
            var now = clock.instant().atOffset(ZoneOffset.UTC);
            for (var v : volumes) {
                var size = executor.cacheSize(v.volume());
                if (size.isEmpty()) {
                    jdbc.sql("DELETE FROM cache_volumes WHERE volume = :volume")
                            .param("volume", v.volume())
                            .update();
                } else {
                    jdbc.sql("UPDATE cache_volumes SET size_bytes = :size, measured_at = :now WHERE volume = :volume")
                            .param("size", size.getAsLong())
                            .param("now", now)
                            .param("volume", v.volume())
                            .update();
                }
            }
            evict(volumes.getFirst().scope());
        } catch (RuntimeException e) {
            log.warn("Could not measure or shrink dependency caches: {}", e.getMessage());
        }
    }

    private record Row(String volume, String scope, long size) {}

    /**
     * Removes least recently used volumes: first those of {@code scope} while it is above the per-repository limit,
     * then whole repositories (the least recently used first) while all caches are above the total limit.
     */
    void evict(String scope) {
        // Ordered by each repository's last use, then each volume's: the order in which the total limit removes.
        var all = jdbc.sql("""
                        SELECT volume, scope_hash, size_bytes FROM cache_volumes
                         ORDER BY max(last_used_at) OVER (PARTITION BY scope_hash), scope_hash, last_used_at, volume""")
                .query((rs, n) -> new Row(rs.getString(1), rs.getString(2), rs.getLong(3)))
                .list();
        var removed = new java.util.HashSet<String>();
        long scopeSize = all.stream()
                .filter(r -> r.scope().equals(scope))
                .mapToLong(Row::size)
                .sum();
        for (var r : all) {
            if (scopeSize <= properties.maxSize().toBytes()) {
                break;
            }
            if (r.scope().equals(scope)
                    && remove(
                            r,
                            "its repository's caches hold more than CACHE_MAX_SIZE (" + properties.maxSize() + ")")) {
                scopeSize -= r.size();
                removed.add(r.volume());
            }
        }
        long total = all.stream()
                .filter(r -> !removed.contains(r.volume()))
                .mapToLong(Row::size)
                .sum();
        for (var r : all) {
            if (total <= properties.totalMaxSize().toBytes()) {
                break;
            }
            if (!removed.contains(r.volume())
                    && remove(
                            r,
                            "all caches hold more than CACHE_TOTAL_MAX_SIZE (" + properties.totalMaxSize()
                                    + ") and this repository's were used least recently")) {
                total -= r.size();
                removed.add(r.volume());
            }
        }
    }

    private boolean remove(Row row, String why) {
        if (!executor.removeCache(row.volume())) {
            return false;
        }
        jdbc.sql("DELETE FROM cache_volumes WHERE volume = :volume")
                .param("volume", row.volume())
                .update();
        log.info("Removed dependency cache volume {} ({} bytes): {}", row.volume(), row.size(), why);
        return true;
    }

    /** For {@code /stats}: how many cache volumes, of how many repositories, holding how many bytes. */
    public Map<String, Object> stats() {
        return jdbc.sql("SELECT count(*), count(DISTINCT scope_hash), coalesce(sum(size_bytes), 0) FROM cache_volumes")
                .query((rs, n) -> Map.<String, Object>of(
                        "volumes",
                        rs.getLong(1),
                        "repositories",
                        rs.getLong(2),
                        "total_bytes",
                        rs.getLong(3),
                        "max_bytes_per_repository",
                        properties.maxSize().toBytes(),
                        "total_max_bytes",
                        properties.totalMaxSize().toBytes()))
                .single();
    }
}
