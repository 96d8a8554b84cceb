package io.bisectbot.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP front for the local Docker engine's socket, which stands in for the engine itself: {@link #stop()} refuses
 * new connections and cuts open ones (event streams, attached containers, waits) as an engine that goes down does,
 * {@link #start()} answers again on the same port. Services pointed at it with {@code DOCKER_HOST} see an engine
 * restart, while the real engine, and everything else that uses it, carries on.
 */
final class DockerProxy implements AutoCloseable {

    private final Path engine;
    private final Set<AutoCloseable> open = ConcurrentHashMap.newKeySet();
    private volatile ServerSocket server;
    private int port;

    DockerProxy() {
        var host = System.getenv().getOrDefault("DOCKER_HOST", "unix:///var/run/docker.sock");
        if (!host.startsWith("unix://")) {
            throw new IllegalStateException("the Docker proxy forwards to a unix socket; DOCKER_HOST is " + host);
        }
        this.engine = Path.of(host.substring("unix://".length()));
    }

    /** The value of {@code DOCKER_HOST} for the services. */
    String dockerHost() {
        return "tcp://127.0.0.1:" + port;
    }

    synchronized void start() throws IOException {
        var socket = new ServerSocket();
        socket.setReuseAddress(true);
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        port = socket.getLocalPort();
        server = socket;
        Thread.ofVirtual().name("docker-proxy").start(() -> accept(socket));
    }

    /** The engine goes away: no new connection is accepted, and each open one is closed. */
    synchronized void stop() throws IOException {
        var socket = server;
        server = null;
        if (socket != null) {
            socket.close();
        }
        for (var connection : open) {
            try {
                connection.close();
            } catch (Exception ignored) {
                // Already closed by its other side.
            }
        }
        open.clear();
    }

    private void accept(ServerSocket socket) {
        while (!socket.isClosed()) {
            try {
                var client = socket.accept();
                var upstream = SocketChannel.open(StandardProtocolFamily.UNIX);
                upstream.connect(UnixDomainSocketAddress.of(engine));
                open.add(client);
                open.add(upstream);
                Thread.ofVirtual().start(() -> pump(client, upstream));
                Thread.ofVirtual().start(() -> pumpBack(upstream, client));
            } catch (IOException e) {
                // Closed by stop(), or one connection failed: the loop ends or goes on.
            }
        }
    }

    /** Client to engine; at the client's end of input, the engine's side is half-closed (attach streams rely on it). */
    private void pump(Socket client, SocketChannel upstream) {
        try (var in = client.getInputStream()) {
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                var bytes = ByteBuffer.wrap(buffer, 0, n);
                while (bytes.hasRemaining()) {
                    upstream.write(bytes);
                }
            }
            upstream.shutdownOutput();
        } catch (IOException e) {
            closeBoth(client, upstream);
        }
    }

    private void pumpBack(SocketChannel upstream, Socket client) {
        try (var in = Channels.newInputStream(upstream)) {
            var out = client.getOutputStream();
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
                out.flush();
            }
            client.shutdownOutput();
        } catch (IOException e) {
            // Closed below.
        }
        closeBoth(client, upstream);
    }

    private void closeBoth(Socket client, SocketChannel upstream) {
        try {
            client.close();
        } catch (IOException ignored) {
            // Nothing more to do.
        }
        try {
            upstream.close();
        } catch (IOException ignored) {
            // Nothing more to do.
        }
        open.remove(client);
        open.remove(upstream);
    }

    @Override
    public void close() throws IOException {
        stop();
    }
}
