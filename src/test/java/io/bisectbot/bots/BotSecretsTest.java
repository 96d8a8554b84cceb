package io.bisectbot.bots;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.dataformat.yaml.YAMLMapper;

class BotSecretsTest {

    @TempDir
    Path dir;

    private static BotTask task(String secret) throws Exception {
        var yaml = "tasks:\n  publish:\n    run: npm publish\n    on: [command]\n    secrets: [" + secret + "]\n";
        return BotConfig.parse(YAMLMapper.builder().build().readTree(yaml).get("tasks"), "img", Duration.ofMinutes(1))
                .get("publish");
    }

    private BotSecrets load(String yaml, Map<String, String> env) throws Exception {
        var file = dir.resolve("secrets.yml");
        Files.writeString(file, yaml);
        return BotSecrets.load(file, env);
    }

    @Test
    void a_secret_reaches_only_the_repositories_and_installations_it_is_granted_to() throws Exception {
        var secrets = load("""
                secrets:
                  NPM_TOKEN:
                    repositories: [acme/app, acme-libs/*]
                  DEPLOY_KEY:
                    value: k3y
                    repositories: [acme/app]
                    installations: [7]
                """, Map.of("BOT_SECRET_NPM_TOKEN", "t0ken"));
        var npm = task("NPM_TOKEN");
        assertThat(secrets.problems(npm, "acme", "app", 1)).isEmpty();
        assertThat(secrets.values(npm, "Acme", "App", 1)).containsEntry("NPM_TOKEN", "t0ken");
        assertThat(secrets.problems(npm, "acme-libs", "left-pad", 1)).isEmpty();
        assertThat(secrets.problems(npm, "mallory", "app", 1))
                .singleElement()
                .asString()
                .contains("not granted to mallory/app", "BOT_SECRETS_FILE");
        assertThat(secrets.values(npm, "mallory", "app", 1)).isEmpty();
        var deploy = task("DEPLOY_KEY");
        assertThat(secrets.problems(deploy, "acme", "app", 7)).isEmpty();
        assertThat(secrets.problems(deploy, "acme", "app", 8)).hasSize(1);
        assertThat(secrets.problems(task("OTHER"), "acme", "app", 7))
                .singleElement()
                .asString()
                .contains("does not have");
        assertThat(secrets.unusedEnvironment(Map.of("BOT_SECRET_NPM_TOKEN", "x", "BOT_SECRET_OLD", "y")))
                .containsExactly("BOT_SECRET_OLD");
    }

    @Test
    void a_secret_without_a_scope_or_a_value_is_refused_with_what_to_fix() {
        assertThatThrownBy(() -> load("secrets:\n  NPM_TOKEN:\n    value: x\n", Map.of()))
                .hasMessageContaining("say which repositories");
        assertThatThrownBy(() -> load("secrets:\n  NPM_TOKEN:\n    repositories: [acme/app]\n", Map.of()))
                .hasMessageContaining("BOT_SECRET_NPM_TOKEN, which is not set");
        assertThatThrownBy(
                        () -> load("secrets:\n  NPM_TOKEN:\n    value: x\n    repositories: [everything]\n", Map.of()))
                .hasMessageContaining("not owner/name or owner/*");
        assertThatThrownBy(() -> load("secrets:\n  NPM_TOKEN:\n    value: x\n    repos: [acme/app]\n", Map.of()))
                .hasMessageContaining("unknown key `repos`");
    }
}
