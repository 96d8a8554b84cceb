package io.bisectbot.executor;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Turns raw output frames into stored text: UTF-8 decoding that survives split characters, secret
 * masking that survives split secrets, then the head + tail cap. Masking runs before the cap so a
 * cut can never leave a recognisable piece of a secret.
 */
final class LogPipeline {

    private final Map<LogStream, Decoder> decoders = new EnumMap<>(LogStream.class);
    private final Map<LogStream, SecretMasker> maskers = new EnumMap<>(LogStream.class);
    private final HeadTailCap cap;
    private final List<String> secrets;
    private boolean finished;

    LogPipeline(LogSink sink, long capBytes, List<String> secrets) {
        this.cap = new HeadTailCap(sink, capBytes);
        this.secrets = secrets;
    }

    synchronized void accept(LogStream stream, byte[] bytes) {
        if (finished) {
            return;
        }
        String text = decoders.computeIfAbsent(stream, s -> new Decoder()).decode(bytes, false);
        emit(stream, text);
    }

    private void emit(LogStream stream, String text) {
        String safe =
                maskers.computeIfAbsent(stream, s -> new SecretMasker(secrets)).mask(text);
        if (!safe.isEmpty()) {
            cap.accept(stream, safe);
        }
    }

    /** Flushes what the decoders and maskers held back, then the tail. Idempotent. */
    synchronized LogSummary finish() {
        if (!finished) {
            finished = true;
            for (var e : decoders.entrySet()) {
                String rest = e.getValue().decode(new byte[0], true);
                String safe = maskers.computeIfAbsent(e.getKey(), s -> new SecretMasker(secrets))
                        .mask(rest);
                String held = maskers.get(e.getKey()).drain();
                if (!(safe + held).isEmpty()) {
                    cap.accept(e.getKey(), safe + held);
                }
            }
            cap.finish();
        }
        return cap.summary();
    }

    static int utf8Length(CharSequence s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c)
                    && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    /** Index of the longest prefix of {@code s} whose UTF-8 length is at most {@code maxBytes}, never splitting a surrogate pair. */
    static int prefixWithin(String s, long maxBytes) {
        long n = 0;
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            int width = c < 0x80
                    ? 1
                    : c < 0x800
                            ? 2
                            : Character.isHighSurrogate(c)
                                            && i + 1 < s.length()
                                            && Character.isLowSurrogate(s.charAt(i + 1))
                                    ? 4
                                    : 3;
            if (n + width > maxBytes) {
                break;
            }
            n += width;
            i += width == 4 ? 2 : 1;
        }
        return i;
    }

    /** Streaming UTF-8 decoder; an incomplete trailing sequence waits for the next frame. */
    static final class Decoder {
        private final CharsetDecoder decoder = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        private byte[] pending = new byte[0];

        String decode(byte[] bytes, boolean end) {
            ByteBuffer in = ByteBuffer.allocate(pending.length + bytes.length)
                    .put(pending)
                    .put(bytes)
                    .flip();
            CharBuffer out = CharBuffer.allocate(in.remaining() + 2);
            decoder.decode(in, out, end);
            if (end) {
                decoder.flush(out);
                decoder.reset();
            }
            pending = new byte[in.remaining()];
            in.get(pending);
            // PostgreSQL text cannot hold NUL; binary output must not break storage.
            return out.flip().toString().replace('\0', '\uFFFD');
        }
    }

    /** Replaces secrets, holding back a tail that could be the start of a secret split across frames. */
    static final class SecretMasker {
        static final String MASK = "***";
        private final List<String> secrets;
        private String carry = "";

        SecretMasker(List<String> secrets) {
            // Every printable form of every secret, longest first, so a form containing another is masked whole.
            this.secrets = secrets.stream()
                    .flatMap(secret -> SecretVariants.of(secret).stream())
                    .distinct()
                    .sorted(Comparator.comparingInt(String::length).reversed())
                    .toList();
        }

        String mask(String text) {
            if (secrets.isEmpty()) {
                return text;
            }
            String s = carry + text;
            for (String secret : secrets) {
                s = s.replace(secret, MASK);
            }
            int hold = heldBackLength(s);
            carry = s.substring(s.length() - hold);
            return s.substring(0, s.length() - hold);
        }

        String drain() {
            String rest = carry;
            carry = "";
            return rest;
        }

        /** Length of the longest suffix of {@code s} that is a proper prefix of some secret. */
        private int heldBackLength(String s) {
            int best = 0;
            for (String secret : secrets) {
                for (int len = Math.min(secret.length() - 1, s.length()); len > best; len--) {
                    if (s.regionMatches(s.length() - len, secret, 0, len)) {
                        best = len;
                        break;
                    }
                }
            }
            return best;
        }
    }

    /**
     * Keeps the first half of the cap live and the last half in memory until the end, so both how a
     * step started and how it failed survive; in between goes a marker with the dropped byte count.
     * Output beyond the head is therefore only visible once the step ends.
     */
    static final class HeadTailCap {
        private final LogSink sink;
        private final long headLimit;
        private final long tailLimit;
        private long headBytes;
        private final ArrayDeque<Chunk> tail = new ArrayDeque<>();
        private long tailBytes;
        private long omitted;
        private long total;
        private long stored;

        private record Chunk(LogStream stream, String text, int bytes) {}

        HeadTailCap(LogSink sink, long capBytes) {
            this.sink = sink;
            this.headLimit = capBytes / 2;
            this.tailLimit = capBytes - headLimit;
        }

        void accept(LogStream stream, String text) {
            total += utf8Length(text);
            if (headBytes < headLimit) {
                int cut = prefixWithin(text, headLimit - headBytes);
                if (cut > 0) {
                    String head = text.substring(0, cut);
                    int bytes = utf8Length(head);
                    headBytes += bytes;
                    stored += bytes;
                    sink.append(stream, head);
                }
                text = text.substring(cut);
                if (text.isEmpty()) {
                    return;
                }
                if (headBytes < headLimit) {
                    // A character wider than the space left: it starts the tail instead.
                    headBytes = headLimit;
                }
            }
            int bytes = utf8Length(text);
            tail.addLast(new Chunk(stream, text, bytes));
            tailBytes += bytes;
            while (tailBytes > tailLimit) {
                Chunk first = tail.removeFirst();
                tailBytes -= first.bytes();
                long excess = tailBytes + first.bytes() - tailLimit;
                if (excess < first.bytes()) {
                    // Drop only the front of this chunk.
                    String keep = dropPrefixBytes(first.text(), excess);
                    int keptBytes = utf8Length(keep);
                    omitted += first.bytes() - keptBytes;
                    tail.addFirst(new Chunk(first.stream(), keep, keptBytes));
                    tailBytes += keptBytes;
                } else {
                    omitted += first.bytes();
                }
            }
        }

        private static String dropPrefixBytes(String s, long bytes) {
            int i = prefixWithin(s, bytes);
            // Round up so at least `bytes` are dropped even when a wide character straddles the cut.
            if (utf8Length(s.substring(0, i)) < bytes && i < s.length()) {
                i += Character.isHighSurrogate(s.charAt(i)) && i + 1 < s.length() ? 2 : 1;
            }
            return s.substring(i);
        }

        void finish() {
            if (omitted > 0) {
                String marker = "\n… " + omitted + " bytes omitted …\n";
                sink.append(LogStream.SYSTEM, marker);
            }
            for (Chunk c : tail) {
                stored += c.bytes();
                sink.append(c.stream(), c.text());
            }
            tail.clear();
            tailBytes = 0;
        }

        LogSummary summary() {
            return new LogSummary(total, stored, omitted);
        }
    }
}
