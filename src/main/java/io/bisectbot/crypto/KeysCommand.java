package io.bisectbot.crypto;

import java.io.PrintStream;
import java.security.SecureRandom;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.context.ApplicationContext;

/**
 * {@code bisectbot keys generate [--id ID]} prints a new key line; {@code bisectbot keys rotate [--batch N]}
 * re-encrypts every stored value with the first configured key (docs/encryption.md, RUNBOOK "Encryption keys").
 */
public final class KeysCommand {

    static final String USAGE = """
            usage: bisectbot keys generate [--id ID]   print a new key line id:base64key (32 random bytes)
                   bisectbot keys rotate [--batch N]  re-encrypt every stored value with the first key of
                                                      ENCRYPTION_KEYS (default batch: 500 rows)

            Rotation is safe while instances run and can be started again after an interruption; when it has
            finished, keys other than the first can be removed from ENCRYPTION_KEYS.""";

    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE_ERROR = 2;

    private KeysCommand() {}

    /**
     * Handles what needs no database (help, generate, usage errors) and returns the exit status; null when the
     * words ask for {@code rotate}, which {@link #rotate} runs in a started context.
     */
    public static Integer handleWithoutDatabase(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            (args.length == 0 ? err : out).println(USAGE);
            return args.length == 0 ? USAGE_ERROR : OK;
        }
        try {
            switch (args[0]) {
                case "generate" -> {
                    var id = options(args, "--id").get("--id");
                    var random = new SecureRandom();
                    if (id == null) {
                        var suffix = new byte[2];
                        random.nextBytes(suffix);
                        id = "k" + LocalDate.now(ZoneOffset.UTC).format(DateTimeFormatter.BASIC_ISO_DATE) + "-"
                                + HexFormat.of().formatHex(suffix);
                    }
                    out.println(KeyRing.generate(id, random));
                    err.println("Put this line first in ENCRYPTION_KEYS (keep the old keys after it), restart every "
                            + "instance, then run `bisectbot keys rotate`.");
                    return OK;
                }
                case "rotate" -> {
                    batch(args);
                    return null;
                }
                default -> {
                    err.println("bisectbot keys: unknown command '" + args[0] + "'; expected generate or rotate.\n\n"
                            + USAGE);
                    return USAGE_ERROR;
                }
            }
        } catch (IllegalArgumentException e) {
            err.println("bisectbot keys: " + e.getMessage());
            return USAGE_ERROR;
        }
    }

    /** Runs {@code keys rotate} with the context's database and keys; returns the exit status. */
    public static int rotate(ApplicationContext context, String[] args, PrintStream out, PrintStream err) {
        return rotate(context.getBean(DataSource.class), context.getBean(Encryption.class), batch(args), out, err);
    }

    /** Re-encrypts every stored value in {@code dataSource} with {@code encryption}'s first key. */
    public static int rotate(
            DataSource dataSource, Encryption encryption, int batch, PrintStream out, PrintStream err) {
        try {
            var rotation = new Rotation(dataSource, encryption, batch, out);
            out.println("Re-encrypting stored values with key '" + encryption.currentKeyId() + "' (keys that decrypt: "
                    + encryption.keyIds() + ")");
            var totals = rotation.run();
            out.println("Done: " + totals.read() + " values read, " + totals.resealed() + " re-encrypted. Every value "
                    + "is now under key '" + encryption.currentKeyId()
                    + "'; the other keys can be removed from ENCRYPTION_KEYS "
                    + "once every instance runs with it first.");
            return OK;
        } catch (EncryptionException e) {
            err.println("bisectbot keys rotate: " + e.getMessage());
            return FAILED;
        }
    }

    private static int batch(String[] args) {
        var text = options(args, "--batch").getOrDefault("--batch", "500");
        try {
            int n = Integer.parseInt(text);
            if (n < 1 || n > 100_000) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--batch takes a number of rows from 1 to 100000, got '" + text + "'");
        }
    }

    /** The words after the command as name/value pairs, each name one of {@code allowed}. */
    private static Map<String, String> options(String[] args, String... allowed) {
        var options = new HashMap<String, String>();
        for (int i = 1; i < args.length; i += 2) {
            if (!List.of(allowed).contains(args[i])) {
                throw new IllegalArgumentException("unknown option '" + args[i] + "' for keys " + args[0]
                        + "; it takes " + String.join(", ", allowed));
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(args[i] + " needs a value");
            }
            options.put(args[i], args[i + 1]);
        }
        return options;
    }
}
