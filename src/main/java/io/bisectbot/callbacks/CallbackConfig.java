package io.bisectbot.callbacks;

import io.bisectbot.bisect.BisectListener;
import io.bisectbot.loop.Loop;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.QueueNode;
import java.time.Clock;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import tools.jackson.databind.json.JsonMapper;

/** The callbacks' parts; they exist only when the instance serves. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "bisectbot.mode", havingValue = "serve", matchIfMissing = true)
class CallbackConfig {

    private static final Logger log = LoggerFactory.getLogger(CallbackConfig.class);

    @Bean
    CallbackOutbox callbackOutbox(DataSource dataSource, JsonMapper json, Clock clock) {
        return new CallbackOutbox(dataSource, json, clock);
    }

    @Bean
    CallbackTargets callbackTargets(CallbackProperties properties) {
        return new CallbackTargets(properties.allowedHostList());
    }

    @Bean
    Callbacks callbacks(
            CallbackOutbox outbox,
            CallbackTargets targets,
            CallbackProperties properties,
            DataSource dataSource,
            JobQueue queue) {
        var callbacks = new Callbacks(outbox, targets, properties, dataSource, queue);
        queue.onCreated(callbacks::created);
        if (properties.secretList().isEmpty()) {
            log.info("CALLBACK_SECRETS is not set: jobs asking for callbacks are refused");
        }
        return callbacks;
    }

    @Bean
    CallbackDelivery callbackDelivery(
            CallbackOutbox outbox,
            JobQueue queue,
            CallbackTargets targets,
            CallbackProperties properties,
            JsonMapper json,
            Clock clock,
            QueueNode node) {
        return new CallbackDelivery(outbox, queue, targets, properties, json, clock, node.workerId());
    }

    @Bean
    Loop callbackLoop(CallbackDelivery delivery, CallbackProperties properties) {
        return new Loop("callbacks", properties.pollInterval(), () -> delivery.deliverDue() > 0);
    }

    /** A bisection sends {@code progress} events to the callbacks that asked for them: at its start and per round. */
    @Bean
    BisectListener callbackBisectListener(Callbacks callbacks) {
        return new CallbackBisectListener(callbacks);
    }
}
