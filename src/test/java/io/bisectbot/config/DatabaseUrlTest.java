package io.bisectbot.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DatabaseUrlTest {

    @Test
    void parses_a_postgres_url_with_credentials_port_and_options() {
        var url = DatabaseUrl.parse("postgres://bot:p%40ss@db.internal:6543/bisectbot?sslmode=require");
        assertThat(url.jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:6543/bisectbot?sslmode=require");
        assertThat(url.username()).isEqualTo("bot");
        assertThat(url.password()).isEqualTo("p@ss");
    }

    @Test
    void tls_parameters_reach_the_jdbc_driver_as_written() {
        var url = DatabaseUrl.parse("postgres://bisectbot@10.0.1.2:5432/bisectbot?sslmode=verify-full"
                + "&sslrootcert=/run/secrets/postgres-ca.crt");
        var parsed = org.postgresql.Driver.parseURL(url.jdbcUrl(), new java.util.Properties());
        assertThat(parsed).isNotNull();
        assertThat(parsed.getProperty("sslmode")).isEqualTo("verify-full");
        assertThat(parsed.getProperty("sslrootcert")).isEqualTo("/run/secrets/postgres-ca.crt");
        assertThat(parsed.getProperty("PGHOST")).isEqualTo("10.0.1.2");
        assertThat(parsed.getProperty("PGDBNAME")).isEqualTo("bisectbot");
    }

    @Test
    void defaults_the_port_and_accepts_the_postgresql_scheme() {
        var url = DatabaseUrl.parse("postgresql://bot@localhost/jobs");
        assertThat(url.jdbcUrl()).isEqualTo("jdbc:postgresql://localhost:5432/jobs");
        assertThat(url.password()).isNull();
    }

    @Test
    void passes_a_jdbc_url_through() {
        assertThat(DatabaseUrl.parse("jdbc:postgresql://h:1/d").jdbcUrl()).isEqualTo("jdbc:postgresql://h:1/d");
    }

    @Test
    void rejects_other_schemes_without_echoing_the_password() {
        assertThatThrownBy(() -> DatabaseUrl.parse("mysql://root:hunter2@h/d"))
                .hasMessageContaining("postgres://")
                .hasMessageNotContaining("hunter2");
        assertThat(DatabaseUrl.parse("postgres://u:hunter2@h/d").toString()).doesNotContain("hunter2");
    }
}
