package io.bisectbot;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.Set;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;
import org.springframework.boot.context.event.ApplicationPreparedEvent;
import org.springframework.context.ApplicationEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.event.ContextClosedEvent;

/**
 * Closes the Spring contexts that tests left open (the test framework caches them until JVM exit) when the test run
 * ends, and only then stops the database container. Left to the JVM's shutdown hooks, the two race: an instance whose
 * database is already gone spends its shutdown waiting for connections, and the test JVM lingers for half a minute.
 */
public final class TestContexts implements ApplicationListener<ApplicationEvent>, LauncherSessionListener {

    private static final Set<ConfigurableApplicationContext> open = new LinkedHashSet<>();

    @Override
    public void onApplicationEvent(ApplicationEvent event) {
        if (event instanceof ApplicationPreparedEvent prepared) {
            synchronized (open) {
                open.add(prepared.getApplicationContext());
            }
        } else if (event instanceof ContextClosedEvent closed
                && closed.getApplicationContext() instanceof ConfigurableApplicationContext context) {
            synchronized (open) {
                open.remove(context);
            }
        }
    }

    @Override
    public void launcherSessionClosed(LauncherSession session) {
        closeAll();
        TestDatabase.stop();
    }

    /** Closes every open context, the latest first, as the JVM's hooks would, but while the database still runs. */
    static void closeAll() {
        ArrayList<ConfigurableApplicationContext> contexts;
        synchronized (open) {
            contexts = new ArrayList<>(open);
        }
        for (var context : contexts.reversed()) {
            context.close();
        }
    }
}
