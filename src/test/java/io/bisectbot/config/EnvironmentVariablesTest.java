package io.bisectbot.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.bisect.BisectProperties;
import io.bisectbot.executor.ExecutorProperties;
import io.bisectbot.github.GithubProperties;
import io.bisectbot.queue.QueueProperties;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/** The documented variables set their properties; an unset one leaves the record's default, an empty one binds as before. */
class EnvironmentVariablesTest {

    private static StandardEnvironment environment(Map<String, Object> variables) {
        var environment = new StandardEnvironment() {
            @Override
            public Map<String, Object> getSystemEnvironment() {
                return variables;
            }
        };
        SettingsTable.applicationYml().forEach(environment.getPropertySources()::addLast);
        new EnvironmentVariables().postProcessEnvironment(environment, new SpringApplication());
        return environment;
    }

    private static <T> T bind(StandardEnvironment environment, String prefix, Class<T> type) {
        return Binder.get(environment).bindOrCreate(prefix, type);
    }

    @Test
    void a_set_variable_sets_its_property() {
        var environment = environment(Map.of(
                "MAX_CONCURRENT_JOBS",
                "7",
                "JOB_RETENTION",
                "0",
                "BISECT_ENABLED",
                "false",
                "GITHUB_API_RETRIES",
                "5",
                "PORT",
                "9090"));
        assertThat(bind(environment, "bisectbot.queue", QueueProperties.class).maxConcurrentJobs())
                .isEqualTo(7);
        assertThat(bind(environment, "bisectbot.queue", QueueProperties.class).retention())
                .isZero();
        assertThat(bind(environment, "bisectbot.bisect", BisectProperties.class).enabled())
                .isFalse();
        assertThat(bind(environment, "bisectbot.github", GithubProperties.class).apiRetries())
                .isEqualTo(5);
        assertThat(environment.getProperty("server.port")).isEqualTo("9090");
    }

    @Test
    void an_unset_variable_leaves_the_default_of_the_record() {
        var environment = environment(Map.of());
        assertThat(bind(environment, "bisectbot.queue", QueueProperties.class)).isEqualTo(QueueProperties.defaults());
        assertThat(bind(environment, "bisectbot.executor", ExecutorProperties.class))
                .isEqualTo(ExecutorProperties.defaultProperties());
        assertThat(bind(environment, "bisectbot.executor", ExecutorProperties.class)
                        .defaultImage())
                .isEqualTo("debian:bookworm");
        var bisect = bind(environment, "bisectbot.bisect", BisectProperties.class);
        assertThat(bisect.enabled()).isTrue();
        assertThat(bind(environment, "bisectbot.database", DatabaseProperties.class)
                        .shouldMigrateOnStart())
                .isTrue();
        assertThat(environment.getProperty("server.port")).isEqualTo("8080");
        assertThat(environment.getProperty("spring.lifecycle.timeout-per-shutdown-phase"))
                .isEqualTo("60s");
        assertThat(environment.getProperty("logging.level.root")).isEqualTo("INFO");
    }

    @Test
    void an_empty_variable_binds_as_an_empty_value_did_before() {
        var environment = environment(Map.of(
                "PUBLIC_STATS",
                "",
                "RATE_LIMIT_PER_MINUTE",
                "",
                "SHARE_LINK_TTL",
                "",
                "ALLOWED_IMAGES",
                "",
                "EXECUTOR_SECRETS",
                "",
                "MIGRATE_ON_START",
                "",
                "DATABASE_URL",
                "",
                "JOB_STALE_AFTER",
                ""));
        var web = Binder.get(environment)
                .bindOrCreate("bisectbot.web", webProperties())
                .toString();
        assertThat(web).contains("publicStats=false", "shareLinkTtl=PT720H", "rateLimitPerMinute=120");
        var executor = bind(environment, "bisectbot.executor", ExecutorProperties.class);
        assertThat(executor.allowedImages()).isEmpty();
        assertThat(executor.secrets()).isEmpty();
        assertThat(bind(environment, "bisectbot.database", DatabaseProperties.class)
                        .shouldMigrateOnStart())
                .isTrue();
        assertThat(bind(environment, "bisectbot.queue", QueueProperties.class).staleAfter())
                .isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void a_command_line_property_wins_over_the_variable() {
        var environment = environment(Map.of("MAX_CONCURRENT_JOBS", "7"));
        environment
                .getPropertySources()
                .addFirst(new MapPropertySource("commandLineArgs", Map.of("bisectbot.queue.max-concurrent-jobs", "1")));
        assertThat(bind(environment, "bisectbot.queue", QueueProperties.class).maxConcurrentJobs())
                .isEqualTo(1);
    }

    private static Class<?> webProperties() {
        try {
            return Class.forName("io.bisectbot.web.WebProperties");
        } catch (ClassNotFoundException e) {
            throw new AssertionError(e);
        }
    }
}
