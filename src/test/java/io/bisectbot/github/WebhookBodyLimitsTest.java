package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.TestDatabase;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The webhook's memory and time bounds, over raw sockets (a client library would send the body it announced): a
 * 2,000-byte limit, a 4,096-byte budget and a 1.5 s body deadline.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class WebhookBodyLimitsTest {

    private static final int ANNOUNCED = 1_500;

    @LocalServerPort
    int port;

    @Autowired
    MeterRegistry registry;

    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.github.webhook-secrets", () -> "s");
        registry.add("bisectbot.github.max-payload-bytes", () -> "2000");
        registry.add("bisectbot.webhook.inflight-budget", () -> "4096B");
        registry.add("bisectbot.webhook.body-timeout", () -> "1500ms");
    }

    @AfterEach
    void closeSockets() throws IOException {
        for (var socket : sockets) {
            socket.close();
        }
    }

    @Test
    void a_declared_length_above_the_limit_gets_413_before_any_body_byte_is_sent() throws Exception {
        var socket = announce(5_000);
        var response = Response.read(socket.getInputStream());
        assertThat(response.status()).isEqualTo(413);
        assertThat(response.body())
                .contains("\"status\":413")
                .contains("5000 bytes")
                .contains("2000")
                .contains("WEBHOOK_MAX_BODY");
    }

    @Test
    void a_chunked_body_above_the_limit_gets_413() throws Exception {
        var socket = connect();
        var chunk = "x".repeat(3_000);
        socket.getOutputStream()
                .write((headers("Transfer-Encoding: chunked") + Integer.toHexString(chunk.length()) + "\r\n" + chunk
                                + "\r\n0\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
        var response = Response.read(socket.getInputStream());
        assertThat(response.status()).isEqualTo(413);
        assertThat(response.body()).contains("larger than the limit of 2000 bytes");
    }

    @Test
    void slow_bodies_hold_little_budget_time_out_with_408_and_release_it_while_valid_deliveries_are_accepted()
            throws Exception {
        var slow = List.of(announce(ANNOUNCED), announce(ANNOUNCED));
        var trickling = Thread.ofPlatform().daemon().start(() -> trickle(slow));
        // Each holds its first chunk (the announced 1,500 bytes, as that is less than a chunk): 3,000 of 4,096.
        await().atMost(Duration.ofSeconds(5)).until(() -> inflight() == 2 * ANNOUNCED);

        assertThat(deliver("during-slow-bodies")).isEqualTo(202);

        var refused = announce(ANNOUNCED);
        var busy = Response.read(refused.getInputStream());
        assertThat(busy.status()).isEqualTo(503);
        assertThat(busy.headers()).contains("retry-after: 5");
        assertThat(busy.body()).contains("\"status\":503").contains("try again shortly");

        for (var socket : slow) {
            var timedOut = Response.read(socket.getInputStream());
            assertThat(timedOut.status()).isEqualTo(408);
            assertThat(timedOut.body()).contains("1500 ms").contains("WEBHOOK_BODY_TIMEOUT");
        }
        trickling.interrupt();
        await().atMost(Duration.ofSeconds(5)).until(() -> inflight() == 0);
        assertThat(deliver("after-slow-bodies")).isEqualTo(202);
    }

    private double inflight() {
        return registry.get("bisectbot.webhook.inflight.bytes").gauge().value();
    }

    /** One byte every 100 ms on each socket, until the server closes them. */
    private static void trickle(List<Socket> sockets) {
        var open = new ArrayList<>(sockets);
        while (!open.isEmpty() && !Thread.currentThread().isInterrupted()) {
            open.removeIf(socket -> {
                try {
                    socket.getOutputStream().write(' ');
                    socket.getOutputStream().flush();
                    return false;
                } catch (IOException e) {
                    return true;
                }
            });
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private int deliver(String deliveryId) throws Exception {
        var body = "{\"action\":\"opened\",\"installation\":{\"id\":1}}".getBytes(StandardCharsets.UTF_8);
        try (var http = HttpClient.newHttpClient()) {
            return http.send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/webhooks/github"))
                                    .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                                    .timeout(Duration.ofSeconds(10))
                                    .header("Content-Type", "application/json")
                                    .header("X-GitHub-Event", "pull_request")
                                    .header("X-GitHub-Delivery", deliveryId + "-" + UUID.randomUUID())
                                    .header("X-Hub-Signature-256", WebhookSignatures.sign("s", body))
                                    .build(),
                            HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        }
    }

    /** A connection that has sent the headers of a delivery of {@code length} bytes and nothing of its body. */
    private Socket announce(int length) throws IOException {
        var socket = connect();
        socket.getOutputStream().write(headers("Content-Length: " + length).getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return socket;
    }

    private Socket connect() throws IOException {
        var socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        sockets.add(socket);
        return socket;
    }

    private static String headers(String framing) {
        return "POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: " + UUID.randomUUID() + "\r\n"
                + "X-Hub-Signature-256: sha256=00\r\n" + framing + "\r\n\r\n";
    }

    /** An HTTP/1.1 response, read by its framing without waiting for the connection to close. */
    record Response(int status, String headers, String body) {
        static Response read(InputStream in) throws IOException {
            var head = new ByteArrayOutputStream();
            while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
                var b = in.read();
                if (b < 0) {
                    throw new IOException("connection closed after: " + head);
                }
                head.write(b);
            }
            var text = head.toString(StandardCharsets.US_ASCII).toLowerCase(Locale.ROOT);
            var status = Integer.parseInt(text.substring(9, 12));
            if (text.contains("transfer-encoding: chunked")) {
                var body = new ByteArrayOutputStream();
                int size;
                while ((size = Integer.parseInt(line(in), 16)) > 0) {
                    body.write(in.readNBytes(size));
                    line(in);
                }
                return new Response(status, text, body.toString(StandardCharsets.UTF_8));
            }
            var length = text.lines()
                    .filter(l -> l.startsWith("content-length:"))
                    .map(l -> Integer.parseInt(l.substring(15).trim()))
                    .findFirst()
                    .orElse(0);
            return new Response(status, text, new String(in.readNBytes(length), StandardCharsets.UTF_8));
        }

        private static String line(InputStream in) throws IOException {
            var line = new StringBuilder();
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                if (b != '\r') {
                    line.append((char) b);
                }
            }
            return line.toString();
        }
    }
}
