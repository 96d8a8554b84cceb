package io.bisectbot.git;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MirrorCacheCleanerTest {

    @TempDir
    Path cache;

    private Path mirror(String name, Instant lastUsed, int bytes) throws Exception {
        var dir =
                Files.createDirectories(cache.resolve(name).resolve("objects")).getParent();
        Files.write(dir.resolve("objects").resolve("pack"), new byte[bytes]);
        Files.setLastModifiedTime(dir, FileTime.from(lastUsed));
        return dir;
    }

    @Test
    void deletes_mirrors_unused_for_too_long_and_the_least_recently_used_above_the_size_limit() throws Exception {
        var now = Instant.parse("2026-06-01T00:00:00Z");
        var stale = mirror("stale.git", now.minus(Duration.ofDays(30)), 10);
        var older = mirror("older.git", now.minus(Duration.ofDays(2)), 600);
        var recent = mirror("recent.git", now.minus(Duration.ofHours(1)), 600);

        var deleted =
                new MirrorCacheCleaner(cache, Duration.ofDays(14), 1000, Clock.fixed(now, ZoneOffset.UTC)).clean();

        assertThat(deleted).containsExactly(stale, older);
        assertThat(recent).exists();
        assertThat(stale).doesNotExist();
    }

    @Test
    void keeps_everything_within_the_limits() throws Exception {
        var now = Instant.parse("2026-06-01T00:00:00Z");
        mirror("a.git", now.minus(Duration.ofDays(1)), 10);
        assertThat(new MirrorCacheCleaner(cache, Duration.ofDays(14), 1000, Clock.fixed(now, ZoneOffset.UTC)).clean())
                .isEmpty();
    }
}
