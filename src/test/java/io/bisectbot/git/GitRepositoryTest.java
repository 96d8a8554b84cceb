package io.bisectbot.git;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.bisectbot.bisect.GeneratedHistory;
import io.bisectbot.bisect.GeneratedHistory.Git;
import io.bisectbot.bisect.GeneratedHistory.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GitRepositoryTest {

    private static final String TOKEN = "ghs_SuperSecretToken1234567890";

    @TempDir
    Path tmp;

    @Test
    void mirrors_once_then_fetches_and_never_writes_the_token_to_disk() throws Exception {
        GeneratedHistory src = GeneratedHistory.create(tmp.resolve("src"), 1, Shape.LINEAR, 5, 1, 0);
        String url = src.dir.toUri().toString();
        Path cache = tmp.resolve("cache");

        GitRepository first = GitRepository.mirror(url, cache, TOKEN);
        assertThat(first.resolve("main")).contains(src.badSha());

        Files.writeString(src.dir.resolve("extra.txt"), "more\n");
        Git.run(src.dir, "add", "extra.txt");
        Git.run(src.dir, "commit", "-q", "-m", "Later commit");
        String later = Git.run(src.dir, "rev-parse", "HEAD").trim();

        GitRepository again = GitRepository.mirror(url, cache, TOKEN);
        assertThat(again.directory()).isEqualTo(first.directory());
        assertThat(again.resolve("main")).contains(later);
        try (Stream<Path> dirs = Files.list(cache)) {
            assertThat(dirs.filter(p -> !p.getFileName().toString().startsWith(".")))
                    .hasSize(1);
        }
        try (Stream<Path> files = Files.walk(cache)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1))
                        .as(f.toString())
                        .doesNotContain(TOKEN);
            }
        }
    }

    @Test
    void sends_the_token_as_an_http_header_from_the_environment_and_never_in_errors() throws Exception {
        List<String> authorizations = new java.util.concurrent.CopyOnWriteArrayList<>();
        com.sun.net.httpserver.HttpServer server = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            if (auth != null) authorizations.add(auth);
            exchange.sendResponseHeaders(404, -1);
            exchange.close();
        });
        server.start();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/acme/widgets.git";
            Path cache = tmp.resolve("cache");
            assertThatThrownBy(() -> GitRepository.mirror(url, cache, TOKEN))
                    .isInstanceOf(GitException.class)
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain(TOKEN));
            String expected = "Basic "
                    + java.util.Base64.getEncoder()
                            .encodeToString(("x-access-token:" + TOKEN).getBytes(StandardCharsets.UTF_8));
            assertThat(authorizations)
                    .isNotEmpty()
                    .allSatisfy(a -> assertThat(a).isEqualTo(expected));
            if (Files.exists(cache)) {
                try (Stream<Path> files = Files.walk(cache)) {
                    for (Path f : files.filter(Files::isRegularFile).toList()) {
                        assertThat(Files.readString(f, StandardCharsets.ISO_8859_1))
                                .doesNotContain(TOKEN);
                    }
                }
            }
        } finally {
            server.stop(0);
        }
    }

    @Test
    void two_jobs_of_one_repository_can_prepare_the_mirror_at_the_same_time() throws Exception {
        GeneratedHistory src = GeneratedHistory.create(tmp.resolve("src"), 2, Shape.MERGES, 40, 1, 0);
        String url = src.dir.toUri().toString();
        Path cache = tmp.resolve("cache");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<GitRepository>> both = new ArrayList<>();
            Callable<GitRepository> job = () -> GitRepository.mirror(url, cache, null);
            both.add(pool.submit(job));
            both.add(pool.submit(job));
            for (Future<GitRepository> f : both)
                assertThat(f.get().resolve("main")).contains(src.badSha());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void strips_credentials_from_urls_and_gives_each_url_its_own_cache_directory() {
        assertThat(GitRepository.withoutCredentials("https://x-access-token:abc@github.com/o/r.git"))
                .isEqualTo("https://github.com/o/r.git");
        assertThat(GitRepository.withoutCredentials("git@github.com:o/r.git")).isEqualTo("git@github.com:o/r.git");
        assertThat(GitRepository.cacheName("https://github.com/o/r.git"))
                .startsWith("o_r-")
                .endsWith(".git")
                .isNotEqualTo(GitRepository.cacheName("https://github.com/o/r2.git"));
    }

    @Test
    void archives_a_commit_as_a_tar_stream_of_its_tree() throws IOException {
        GeneratedHistory src = GeneratedHistory.create(tmp.resolve("src"), 3, Shape.LINEAR, 4, 1, 0);
        GitRepository repo = GitRepository.open(src.dir.resolve(".git"));
        List<String> names = new ArrayList<>();
        try (InputStream tar = repo.archive(src.shas[2])) {
            byte[] all = tar.readAllBytes();
            for (int off = 0; off + 512 <= all.length; ) {
                String name = new String(all, off, 100, StandardCharsets.US_ASCII).replace("\0", "");
                if (name.isEmpty()) break;
                long size = Long.parseLong(new String(all, off + 124, 11, StandardCharsets.US_ASCII).trim(), 8);
                if (name.equals("state")) {
                    assertThat(new String(all, off + 512, (int) size, StandardCharsets.UTF_8))
                            .isEqualTo(src.states[2].name().toLowerCase() + "\n");
                }
                names.add(name);
                off += 512 + (int) ((size + 511) / 512) * 512;
            }
        }
        assertThat(names).contains("test.sh", "state");
    }

    @Test
    void reads_the_range_with_parents_and_report_data() throws IOException {
        GeneratedHistory h = GeneratedHistory.create(tmp.resolve("src"), 4, Shape.MERGES, 30, 1, 0);
        GitRepository repo = GitRepository.open(h.dir); // a work tree, not its .git
        List<GitRepository.Commit> range = repo.revList(h.badSha(), h.goodShas(), false);
        assertThat(range.get(0).sha()).isEqualTo(h.badSha());
        GitRepository.Commit tip = range.get(0);
        assertThat(tip.parents())
                .containsExactlyElementsOf(java.util.Arrays.stream(h.parents.get(h.bad))
                        .mapToObj(p -> h.shas[p])
                        .toList());
        assertThat(tip.subject()).isEqualTo("Commit " + h.bad);
        assertThat(tip.author()).startsWith("Dev ");
        assertThat(repo.describe(h.goodShas().get(0)))
                .hasValueSatisfying(c -> assertThat(c.subject()).isEqualTo("Commit " + h.goods.get(0)));
        assertThat(repo.resolve("no-such-ref")).isEmpty();
        assertThat(repo.resolve("--all")).isEmpty();
    }
}
