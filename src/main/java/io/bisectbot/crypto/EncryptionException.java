package io.bisectbot.crypto;

/** A value that cannot be sealed or opened: names the column and the key id, never a key. */
public final class EncryptionException extends IllegalStateException {

    EncryptionException(String message) {
        super(message);
    }

    EncryptionException(String message, Throwable cause) {
        super(message, cause);
    }
}
