package io.bisectbot.crypto;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Keys of encryption at rest.
 *
 * @param keys     keys of encryption at rest, {@code id:base64key} comma-separated ({@code bisectbot keys generate} makes
 *                 one); the first encrypts, all decrypt; see docs/encryption.md
 * @param keysFile a file of such entries, instead of {@code ENCRYPTION_KEYS},, one per line ({@code #} starts a comment)
 * @param required refuse to serve without a key ({@code false} runs a production instance unencrypted on purpose); unset means yes with
 *                 {@code DATABASE_URL} (production) and no for the embedded database
 */
@ConfigurationProperties("bisectbot.encryption")
record EncryptionProperties(String keys, String keysFile, Boolean required) {

    boolean requiredWith(boolean externalDatabase) {
        return required != null ? required : externalDatabase;
    }

    @Override
    public String toString() {
        return "EncryptionProperties[keys hidden, keysFile=" + keysFile + ", required=" + required + "]";
    }
}
