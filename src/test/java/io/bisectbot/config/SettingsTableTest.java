package io.bisectbot.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * README.md's Settings table is generated: every variable application.yml maps, with its property's default and
 * description from the code. To regenerate it after changing a setting:
 * {@code ./mvnw -q test -Dtest=SettingsTableTest -Dsettings.write=true}.
 */
class SettingsTableTest {

    private static final Path README = Path.of("README.md");

    @Test
    void the_readme_settings_table_is_the_one_the_code_describes() throws Exception {
        var readme = Files.readString(README);
        var expected = SettingsTable.render();
        if (Boolean.getBoolean("settings.write")) {
            Files.writeString(README, SettingsTable.replaceInReadme(readme, expected));
            readme = Files.readString(README);
        }
        assertThat(SettingsTable.inReadme(readme))
                .as(
                        "README.md's Settings table differs from the code; regenerate it with "
                                + "./mvnw -q test -Dtest=SettingsTableTest -Dsettings.write=true, or paste:%n%n%s",
                        expected)
                .isEqualTo(expected);
    }

    @Test
    void bisectbot_properties_take_no_value_in_application_yml_only_a_variable_name() {
        for (var source : SettingsTable.applicationYml()) {
            for (var name : ((org.springframework.core.env.EnumerablePropertySource<?>) source).getPropertyNames()) {
                if (name.startsWith("bisectbot.") && !name.startsWith(EnvironmentVariables.MAP + ".")) {
                    assertThat(name)
                            .as("a default belongs in its properties record, not in application.yml")
                            .isEqualTo("none");
                }
            }
        }
    }

    @Test
    void every_variable_maps_to_a_property_the_code_describes() {
        var metadata = SettingsTable.metadata();
        EnvironmentVariables.mapping(SettingsTable.applicationYml())
                .forEach((variable, property) -> assertThat(metadata.containsKey(property))
                        .as("%s maps to %s, which the metadata lists", variable, property)
                        .isTrue());
    }
}
