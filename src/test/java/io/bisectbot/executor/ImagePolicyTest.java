package io.bisectbot.executor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ImagePolicyTest {

    @Test
    void without_patterns_only_the_default_images_are_allowed() {
        var policy = ImagePolicy.of(List.of(), "debian:bookworm", "bisectbot/runner");
        assertThat(policy.allows("debian:bookworm")).isTrue();
        assertThat(policy.allows("bisectbot/runner")).isTrue();
        assertThat(policy.allows("debian:bookworm-slim")).isFalse();
        assertThat(policy.allows("evil/miner:latest")).isFalse();
        assertThat(policy.refusal("evil/miner:latest"))
                .contains("`evil/miner:latest`", "`debian:bookworm`", "ALLOWED_IMAGES");
    }

    @Test
    void a_trailing_slash_or_colon_allows_what_is_below_and_a_star_matches_any_run() {
        var policy =
                ImagePolicy.of(List.of("ghcr.io/acme/", "node:", "maven:3.*-eclipse-temurin-21"), "debian:bookworm");
        assertThat(policy.allows("ghcr.io/acme/build:1")).isTrue();
        assertThat(policy.allows("ghcr.io/acme-evil/build:1")).isFalse();
        assertThat(policy.allows("ghcr.io/acme/")).isFalse();
        assertThat(policy.allows("node:22")).isTrue();
        assertThat(policy.allows("nodejs:22")).isFalse();
        assertThat(policy.allows("maven:3.9-eclipse-temurin-21")).isTrue();
        assertThat(policy.allows("debian:bookworm"))
                .as("configured patterns replace the defaults")
                .isFalse();
    }
}
