package io.bisectbot.bench;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.SimpleFileServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small real Maven project for the cache benchmark, and what it needs around it: an image with this JVM's JDK and
 * Maven, and a Maven repository served over HTTP from this host, filled once from the registry this host's Maven
 * uses. Every commit compiles the project (two dependencies, six jars) and runs its JUnit test; from the culprit on
 * the test fails.
 */
final class MavenProject implements AutoCloseable {

    static final String JUNIT = "5.13.4";
    static final String COMPILER_PLUGIN = "3.14.0";
    static final String RESOURCES_PLUGIN = "3.3.1";
    static final String SUREFIRE = "3.5.4";

    private final HttpServer server;
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong found = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private final String url;

    private MavenProject(HttpServer server, String url) {
        this.server = server;
        this.url = url;
    }

    /**
     * Serves {@code mirror} on all interfaces, reached by steps on the bridge network at {@code gateway}; each request
     * waits {@code latencyMs} first, as one to a registry across a network would.
     */
    static MavenProject serve(Path mirror, String gateway, int latencyMs) throws IOException {
        var server = HttpServer.create(new InetSocketAddress("0.0.0.0", 0), 256);
        var project = new MavenProject(
                server, "http://" + gateway + ":" + server.getAddress().getPort() + "/");
        var files = SimpleFileServer.createFileHandler(mirror.toAbsolutePath());
        server.createContext("/", exchange -> {
            project.requests.incrementAndGet();
            try {
                Thread.sleep(latencyMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            files.handle(exchange);
            if (exchange.getResponseCode() == 200) {
                project.found.incrementAndGet();
                var length = exchange.getResponseHeaders().getFirst("Content-length");
                project.bytes.addAndGet(length == null ? 0 : Long.parseLong(length));
            }
        });
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
        return project;
    }

    /** Requests, files found, bytes sent so far. */
    long[] served() {
        return new long[] {requests.get(), found.get(), bytes.get()};
    }

    /** The files of commit {@code i}: from {@code culprit} on, the answer the test expects is wrong. */
    Map<String, String> commit(int i, int culprit) {
        var files = new HashMap<String, String>();
        files.put("pom.xml", POM.formatted(COMPILER_PLUGIN, RESOURCES_PLUGIN, SUREFIRE, JUNIT));
        files.put("settings.xml", SETTINGS.formatted(url));
        files.put("src/main/java/demo/Answer.java", ANSWER);
        files.put("src/main/java/demo/Revision.java", REVISION.formatted(i));
        files.put("src/main/resources/answer.json", "{\"answer\": " + (i < culprit ? 42 : 41) + "}\n");
        files.put("src/test/java/demo/AnswerTest.java", ANSWER_TEST);
        return files;
    }

    /** The step's command: the project's build and test, with its local repository at {@code localRepository}. */
    static String command(String localRepository) {
        // user.home: the step's user has no home; /work: /tmp may be mounted noexec, and Maven unpacks a native
        // library.
        return "mvn -B -q -s settings.xml -Duser.home=/tmp -Djansi.tmpdir=/work -Dmaven.repo.local=" + localRepository
                + " test";
    }

    /**
     * Fills {@code mirror} (once; kept between runs) with what the project's build needs, by running it with this
     * host's Maven, whose registry it then holds.
     */
    static void fillMirror(Path mirror, Path scratch) throws IOException, InterruptedException {
        if (Files.exists(mirror.resolve(".complete"))) {
            return;
        }
        var project = new MavenProject(null, "http://unused/");
        for (var file : project.commit(0, 1).entrySet()) {
            var path = scratch.resolve(file.getKey());
            Files.createDirectories(path.getParent());
            Files.writeString(path, file.getValue());
        }
        var maven = Path.of(System.getProperty("maven.home"), "bin", "mvn").toString();
        run(scratch, List.of(maven, "-B", "-q", "-Dmaven.repo.local=" + mirror.toAbsolutePath(), "test"));
        Files.writeString(mirror.resolve(".complete"), "");
    }

    /**
     * An image with this JVM's JDK and the Maven running this benchmark on top of {@code base}; built when missing.
     */
    static String image(String base, Path scratch) throws IOException, InterruptedException {
        var maven = Path.of(System.getProperty("maven.home"));
        var jdk = Path.of(System.getProperty("java.home"));
        // Named after what goes in, so a new JDK or Maven gets an image of its own.
        var tag = "bisectbot-bench/maven:"
                + Integer.toHexString(java.util.Objects.hash(maven.toRealPath().toString(), Runtime.version()));
        var inspect = new ProcessBuilder("docker", "image", "inspect", tag)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        if (inspect.waitFor() == 0) {
            return tag;
        }
        run(scratch, List.of("cp", "-a", jdk.toString(), scratch.resolve("jdk").toString()));
        run(
                scratch,
                List.of("cp", "-a", maven.toString(), scratch.resolve("maven").toString()));
        Files.writeString(scratch.resolve("Dockerfile"), """
                FROM %s
                COPY jdk /opt/jdk
                COPY maven /opt/maven
                ENV JAVA_HOME=/opt/jdk PATH=/opt/maven/bin:/opt/jdk/bin:/usr/local/bin:/usr/bin:/bin
                """.formatted(base));
        run(scratch, List.of("docker", "build", "-q", "-t", tag, "."));
        return tag;
    }

    /** Runs {@code command} in {@code dir}; returns its output, stripped, or fails with it. */
    static String run(Path dir, List<String> command) throws IOException, InterruptedException {
        var process = new ProcessBuilder(new ArrayList<>(command))
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        var output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed:\n" + output);
        }
        return output.strip();
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop(0);
        }
    }

    private static final String POM = """
            <project xmlns="http://maven.apache.org/POM/4.0.0">
              <modelVersion>4.0.0</modelVersion>
              <groupId>demo</groupId>
              <artifactId>answer</artifactId>
              <version>1.0</version>
              <properties>
                <maven.compiler.release>21</maven.compiler.release>
                <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
              </properties>
              <dependencies>
                <dependency>
                  <groupId>tools.jackson.core</groupId>
                  <artifactId>jackson-databind</artifactId>
                  <version>3.1.7</version>
                </dependency>
                <dependency>
                  <groupId>org.apache.commons</groupId>
                  <artifactId>commons-compress</artifactId>
                  <version>1.28.0</version>
                </dependency>
                <dependency>
                  <groupId>org.junit.jupiter</groupId>
                  <artifactId>junit-jupiter</artifactId>
                  <version>%4$s</version>
                  <scope>test</scope>
                </dependency>
              </dependencies>
              <build>
                <pluginManagement>
                  <plugins>
                    <plugin>
                      <groupId>org.apache.maven.plugins</groupId>
                      <artifactId>maven-compiler-plugin</artifactId>
                      <version>%1$s</version>
                    </plugin>
                    <plugin>
                      <groupId>org.apache.maven.plugins</groupId>
                      <artifactId>maven-resources-plugin</artifactId>
                      <version>%2$s</version>
                    </plugin>
                    <plugin>
                      <groupId>org.apache.maven.plugins</groupId>
                      <artifactId>maven-surefire-plugin</artifactId>
                      <version>%3$s</version>
                    </plugin>
                  </plugins>
                </pluginManagement>
              </build>
            </project>
            """;

    private static final String SETTINGS = """
            <settings>
              <mirrors>
                <mirror>
                  <id>bench</id>
                  <mirrorOf>*</mirrorOf>
                  <url>%s</url>
                </mirror>
              </mirrors>
            </settings>
            """;

    private static final String ANSWER = """
            package demo;

            import java.io.IOException;
            import java.io.UncheckedIOException;
            import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
            import tools.jackson.databind.ObjectMapper;

            public final class Answer {
                private Answer() {}

                public static int value() {
                    try (var in = Answer.class.getResourceAsStream("/answer.json")) {
                        return new ObjectMapper().readTree(in).get("answer").asInt();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }

                public static String label() {
                    return new TarArchiveEntry("answer-" + Revision.NUMBER).getName();
                }
            }
            """;

    private static final String REVISION = """
            package demo;

            final class Revision {
                static final int NUMBER = %d;

                private Revision() {}
            }
            """;

    private static final String ANSWER_TEST = """
            package demo;

            import static org.junit.jupiter.api.Assertions.assertEquals;
            import static org.junit.jupiter.api.Assertions.assertTrue;

            import org.junit.jupiter.api.Test;

            class AnswerTest {
                @Test
                void answerIsFortyTwo() {
                    assertEquals(42, Answer.value());
                }

                @Test
                void labelNamesTheRevision() {
                    assertTrue(Answer.label().startsWith("answer-"));
                }
            }
            """;
}
