package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.bisect.BisectProperties;
import io.bisectbot.executor.ExecutorProperties;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

class GithubPropertiesTest {

    private static final Binder SET = new Binder(new MapConfigurationPropertySource(Map.of(
            "bisectbot.executor.default-image", "ghcr.io/acme/step:1", "bisectbot.bisect.default-timeout", "7m")));
    private static final ExecutorProperties EXECUTOR = SET.bindOrCreate("bisectbot.executor", ExecutorProperties.class);
    private static final BisectProperties BISECT = SET.bindOrCreate("bisectbot.bisect", BisectProperties.class);

    @Test
    void a_bisect_from_github_takes_the_bisect_defaults_when_it_names_none() {
        var properties = GithubProperties.defaults().withBisectDefaults(EXECUTOR, BISECT);
        assertThat(properties.bisectImage()).isEqualTo("ghcr.io/acme/step:1");
        assertThat(properties.bisectTimeout()).isEqualTo(Duration.ofMinutes(7));
    }

    @Test
    void its_own_bisect_defaults_win() {
        var own = new Binder(new MapConfigurationPropertySource(
                        Map.of("bisectbot.github.bisect-image", "own:2", "bisectbot.github.bisect-timeout", "3m")))
                .bindOrCreate("bisectbot.github", GithubProperties.class);
        var properties = own.withBisectDefaults(EXECUTOR, BISECT);
        assertThat(properties.bisectImage()).isEqualTo("own:2");
        assertThat(properties.bisectTimeout()).isEqualTo(Duration.ofMinutes(3));
    }

    @Test
    void with_nothing_set_a_bisect_from_github_uses_the_step_image_and_timeout_of_the_bisect_settings() {
        var properties = GithubProperties.defaults()
                .withBisectDefaults(
                        ExecutorProperties.defaultProperties(),
                        new Binder().bindOrCreate("bisectbot.bisect", BisectProperties.class));
        assertThat(properties.bisectImage()).isEqualTo("debian:bookworm");
        assertThat(properties.bisectTimeout()).isEqualTo(Duration.ofMinutes(10));
    }
}
