package io.bisectbot.queue;

import java.time.Clock;
import javax.sql.DataSource;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
public class ClockConfig {

    /**
     * The database's clock (see {@link DatabaseClock}): every feature compares times across instances, so all of
     * them read the same clock. Re-measured by the queue's heartbeats.
     */
    @Bean
    @ConditionalOnMissingBean
    Clock clock(DataSource dataSource) {
        var clock = new DatabaseClock(Clock.systemUTC(), dataSource);
        clock.synchronize();
        return clock;
    }
}
