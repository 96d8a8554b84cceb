package io.bisectbot.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CachePathsTest {

    @Test
    void absolute_paths_are_accepted_once_each_without_a_trailing_slash() {
        assertThat(CachePaths.check("'cache'", List.of("/root/.m2/repository/", "/root/.npm", "/root/.npm"), null))
                .containsExactly("/root/.m2/repository", "/root/.npm");
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "relative/dir|is not absolute",
                "/|is the root directory",
                "//|is the root directory",
                "/root/../etc|contains '..'",
                "/work/src|overlaps the working directory",
                "/work|overlaps the working directory",
                "/work/src/node_modules|overlaps the working directory",
                "/tmp/cache|or /tmp",
                "/root/$(id)|may only contain"
            })
    void a_bad_path_is_refused_saying_which_value_and_why(String path, String why) {
        assertThatThrownBy(() -> CachePaths.check("'cache'", List.of("/ok", path), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + path + "'")
                .hasMessageContaining(why);
    }

    @Test
    void more_paths_than_the_limit_are_refused() {
        assertThatThrownBy(() -> CachePaths.check("'cache'", Collections.nCopies(9, "/c"), null))
                .hasMessageContaining("9 paths; at most 8");
    }

    @Test
    void volume_names_are_deterministic_and_differ_by_installation_repository_trust_and_path() {
        var a = CachePaths.volume(CachePaths.scope(1, "https://github.com/acme/app.git", true), "/root/.m2");
        assertThat(a.volume())
                .isEqualTo(CachePaths.volume(CachePaths.scope(1, "https://github.com/acme/app.git", true), "/root/.m2")
                        .volume())
                .startsWith("bisectbot-cache-");
        assertThat(List.of(
                        CachePaths.volume(CachePaths.scope(2, "https://github.com/acme/app.git", true), "/root/.m2")
                                .volume(),
                        CachePaths.volume(CachePaths.scope(1, "https://github.com/acme/lib.git", true), "/root/.m2")
                                .volume(),
                        CachePaths.volume(CachePaths.scope(1, "https://github.com/acme/app.git", false), "/root/.m2")
                                .volume(),
                        CachePaths.volume(CachePaths.scope(1, "https://github.com/acme/app.git", true), "/root/.npm")
                                .volume()))
                .doesNotContain(a.volume())
                .doesNotHaveDuplicates();
    }
}
