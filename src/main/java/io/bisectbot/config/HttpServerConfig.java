package io.bisectbot.config;

import org.apache.coyote.http11.AbstractHttp11Protocol;
import org.springframework.boot.tomcat.TomcatProtocolHandlerCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Tomcat settings that application.yml cannot express (the rest of its limits are there, under {@code server}). */
@Configuration(proxyBeanMethods = false)
class HttpServerConfig {

    /**
     * "100 Continue" only once the application reads the body (Tomcat's default sends it at once): a delivery refused
     * on its headers (413 for its length, 503 for the memory budget, 401) is never invited to send its body.
     */
    @Bean
    TomcatProtocolHandlerCustomizer<AbstractHttp11Protocol<?>> continueOnRead() {
        return protocol -> protocol.setContinueResponseTiming("onRead");
    }
}
