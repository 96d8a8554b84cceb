package io.bisectbot.executor;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Shared bits of the tests that talk to the real engine (they fail, not skip, without one). */
final class DockerTestSupport {

    static final String RUNNER_IMAGE = System.getenv().getOrDefault("LOCALCI_RUNNER_IMAGE", "debian:bookworm");
    static final DockerClient DOCKER = DockerClients.create(null, null);

    private DockerTestSupport() {}

    static List<Container> managedContainers() {
        return DOCKER.listContainersCmd()
                .withShowAll(true)
                .withLabelFilter(Map.of(Labels.MANAGED, "true"))
                .exec();
    }

    /** Waits a little: the engine may still be finishing a removal ("Removal In Progress") on a loaded machine. */
    static void assertNoManagedContainersLeft() {
        org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(15))
                .untilAsserted(() -> assertThat(managedContainers())
                        .as("containers labelled bisectbot.managed=true")
                        .isEmpty());
    }

    /** A local image made from the runner image with {@code path} deleted; the caller removes it. */
    static String imageWithout(String path) {
        var name = "bisectbot-test/without" + path.replace('/', '-') + ":" + System.nanoTime();
        var id = DOCKER.createContainerCmd(RUNNER_IMAGE)
                .withUser("0")
                .withCmd("rm", "-f", path)
                .exec()
                .getId();
        try {
            DOCKER.startContainerCmd(id).exec();
            var code = DOCKER.waitContainerCmd(id)
                    .exec(new com.github.dockerjava.api.command.WaitContainerResultCallback())
                    .awaitStatusCode(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(code).as("rm -f " + path).isZero();
            var repository = name.substring(0, name.lastIndexOf(':'));
            var tag = name.substring(name.lastIndexOf(':') + 1);
            DOCKER.commitCmd(id).withRepository(repository).withTag(tag).exec();
        } finally {
            DOCKER.removeContainerCmd(id).withForce(true).exec();
        }
        return name;
    }

    /** A tar of UTF-8 text files, owned by the default step user. */
    static byte[] tar(Map<String, String> files) throws IOException {
        var bytes = new ByteArrayOutputStream();
        try (var tar = new TarArchiveOutputStream(bytes)) {
            for (var file : files.entrySet()) {
                byte[] content = file.getValue().getBytes(StandardCharsets.UTF_8);
                var entry = new TarArchiveEntry(file.getKey());
                entry.setSize(content.length);
                entry.setIds(65534, 65534);
                entry.setMode(0644);
                tar.putArchiveEntry(entry);
                tar.write(content);
                tar.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    /** Keeps everything in memory and remembers when each piece arrived. */
    static final class RecordingSink implements LogSink {
        record Entry(LogStream stream, String text, long atNanos) {}

        private final List<Entry> entries = new ArrayList<>();

        @Override
        public synchronized void append(LogStream stream, String text) {
            entries.add(new Entry(stream, text, System.nanoTime()));
        }

        synchronized String text() {
            var sb = new StringBuilder();
            entries.forEach(e -> sb.append(e.text()));
            return sb.toString();
        }

        synchronized String text(LogStream stream) {
            var sb = new StringBuilder();
            entries.stream().filter(e -> e.stream() == stream).forEach(e -> sb.append(e.text()));
            return sb.toString();
        }
    }
}
