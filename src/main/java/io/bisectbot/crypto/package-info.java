/**
 * Encryption at rest of the columns that can hold secrets or private code (docs/encryption.md).
 *
 * <p>{@link io.bisectbot.crypto.Encryption} seals and opens values of one {@link io.bisectbot.crypto.Column}
 * with AES-256-GCM from the JDK; {@link io.bisectbot.crypto.KeysCommand} is {@code bisectbot keys generate|rotate}.
 * Every value names its key, so several keys decrypt while the first one encrypts; values written before
 * encryption was turned on are read as they are.
 */
package io.bisectbot.crypto;
