package io.bisectbot.git;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the mirror cache within its limits: a mirror unused for {@code maxAge} is deleted, and while the cache is
 * larger than {@code maxBytes} the least recently used mirrors go first. A mirror a job is fetching into is skipped;
 * a deleted mirror is cloned again by the next job that needs it.
 */
public final class MirrorCacheCleaner {

    private static final Logger log = LoggerFactory.getLogger(MirrorCacheCleaner.class);

    private final Path cacheDir;
    private final Duration maxAge;
    private final long maxBytes;
    private final Clock clock;

    public MirrorCacheCleaner(Path cacheDir, Duration maxAge, long maxBytes, Clock clock) {
        this.cacheDir = cacheDir;
        this.maxAge = maxAge;
        this.maxBytes = maxBytes;
        this.clock = clock;
    }

    private record Mirror(Path dir, long lastUsedMillis, long bytes) {}

    /** One pass; returns the mirrors deleted. */
    public List<Path> clean() {
        var deleted = new ArrayList<Path>();
        if (!Files.isDirectory(cacheDir)) {
            return deleted;
        }
        try (Stream<Path> entries = Files.list(cacheDir)) {
            var mirrors = new ArrayList<Mirror>();
            for (var dir :
                    entries.filter(d -> Files.isDirectory(d.resolve("objects"))).toList()) {
                mirrors.add(new Mirror(dir, Files.getLastModifiedTime(dir).toMillis(), size(dir)));
            }
            mirrors.sort(Comparator.comparingLong(Mirror::lastUsedMillis));
            var total = mirrors.stream().mapToLong(Mirror::bytes).sum();
            var oldest = clock.millis() - maxAge.toMillis();
            for (var mirror : mirrors) {
                if (mirror.lastUsedMillis() >= oldest && total <= maxBytes) {
                    break;
                }
                if (GitRepository.deleteMirrorIfIdle(mirror.dir())) {
                    total -= mirror.bytes();
                    deleted.add(mirror.dir());
                    log.info(
                            "Deleted the mirror {} ({} MiB, unused since {})",
                            mirror.dir().getFileName(),
                            mirror.bytes() >> 20,
                            java.time.Instant.ofEpochMilli(mirror.lastUsedMillis()));
                }
            }
        } catch (IOException | UncheckedIOException e) {
            log.warn("Could not clean the mirror cache {}: {}", cacheDir, e.getMessage());
        }
        return deleted;
    }

    private static long size(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile)
                    .mapToLong(file -> {
                        try {
                            return Files.size(file);
                        } catch (IOException e) {
                            return 0;
                        }
                    })
                    .sum();
        }
    }
}
