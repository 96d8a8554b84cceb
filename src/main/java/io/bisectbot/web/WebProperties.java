package io.bisectbot.web;

import org.springframework.boot.context.properties.ConfigurationProperties;

/** @param adminToken {@code ADMIN_TOKEN}, comma-separated for rotation; admin endpoints are disabled while it is empty */
@ConfigurationProperties("bisectbot.web")
record WebProperties(String adminToken) {
}
