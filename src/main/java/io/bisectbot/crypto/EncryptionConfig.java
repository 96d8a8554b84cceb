package io.bisectbot.crypto;

import io.bisectbot.config.DatabaseProperties;
import io.bisectbot.config.StartupProblem;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.DependsOn;

@Configuration(proxyBeanMethods = false)
public class EncryptionConfig {

    private static final Logger log = LoggerFactory.getLogger(EncryptionConfig.class);

    /** After the DataSource, so a wrong DATABASE_URL or an old schema is what a failed start reports first. */
    @Bean
    @DependsOn("dataSource")
    Encryption encryption(
            EncryptionProperties properties,
            DatabaseProperties database,
            @Value("${bisectbot.mode:serve}") String mode) {
        var keys = keyRing(properties);
        if (keys.isEmpty() && mode.equals("serve")) {
            var external = database.url() != null && !database.url().isBlank();
            if (properties.requiredWith(external)) {
                throw new StartupProblem(
                        (external ? "DATABASE_URL is set (production) and " : "ENCRYPTION_REQUIRED is true and ")
                                + "no encryption key is configured, so delivery payloads, step logs, job payloads and results and "
                                + "outbox bodies would be stored in the clear.",
                        "Make a key with `java -jar bisectbot.jar keys generate` and set ENCRYPTION_KEYS to the line it "
                                + "prints (or put it in a file named by ENCRYPTION_KEYS_FILE). To store data unencrypted on "
                                + "purpose, set ENCRYPTION_REQUIRED=false.");
            }
            log.warn("Data is not encrypted at rest: no ENCRYPTION_KEYS. Fine for development; see docs/encryption.md");
        } else if (!keys.isEmpty()) {
            log.info("Encryption at rest: new values use key '{}'; keys that decrypt: {}", keys.current(), keys.ids());
        }
        return Encryption.of(keys);
    }

    static KeyRing keyRing(EncryptionProperties properties) {
        var inline = properties.keys() != null && !properties.keys().isBlank();
        var file = properties.keysFile() != null && !properties.keysFile().isBlank();
        if (inline && file) {
            throw new StartupProblem(
                    "Both ENCRYPTION_KEYS and ENCRYPTION_KEYS_FILE are set.",
                    "Set one of them: the keys inline, or the file that lists them.");
        }
        try {
            return file
                    ? KeyRing.fromFile(Path.of(properties.keysFile().strip()))
                    : KeyRing.parse(properties.keys(), "ENCRYPTION_KEYS");
        } catch (IllegalArgumentException e) {
            throw new StartupProblem(
                    e.getMessage() + ".",
                    "Fix " + (file ? "ENCRYPTION_KEYS_FILE" : "ENCRYPTION_KEYS") + ": entries id:base64key, the first "
                            + "encrypts; `java -jar bisectbot.jar keys generate` prints one.");
        }
    }
}
