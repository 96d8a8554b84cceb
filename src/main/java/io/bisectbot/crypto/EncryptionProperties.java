package io.bisectbot.crypto;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Keys of encryption at rest, with the defaults in one place.
 *
 * @param keys     {@code ENCRYPTION_KEYS}: {@code id:base64key}, comma-separated; the first encrypts, all decrypt
 * @param keysFile {@code ENCRYPTION_KEYS_FILE}: a file of such entries, one per line ({@code #} starts a comment)
 * @param required {@code ENCRYPTION_REQUIRED}: refuse to serve without a key; unset means yes with
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
