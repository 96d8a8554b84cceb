package io.bisectbot.callbacks;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Signed job callbacks.
 *
 * @param secrets      comma-separated: every event is signed with each (one {@code v1=} per
 *                     secret), so receivers can move to a new one while the old one is still listed
 * @param allowedHosts comma-separated host names ({@code *.example.com} for
 *                     subdomains) or addresses; empty allows any host with only public addresses
 * @param urls         comma-separated: every job started from GitHub reports its end there
 * @param maxPerJob    most callbacks one job may carry
 * @param deadAfter    an event failing this long after its first failure is dead-lettered
 * @param timeout      connect and response timeout of one attempt
 * @param backoffBase  delay after the first failure; doubles per attempt, jittered
 * @param backoffMax   the largest delay between attempts (also caps {@code Retry-After})
 * @param pollInterval how often each instance looks for due events
 * @param lease        how long a claimed event is reserved for the instance delivering it
 */
@ConfigurationProperties("bisectbot.callbacks")
record CallbackProperties(
        String secrets,
        String allowedHosts,
        String urls,
        @DefaultValue("5") int maxPerJob,
        @DefaultValue("24h") Duration deadAfter,
        @DefaultValue("10s") Duration timeout,
        @DefaultValue("5s") Duration backoffBase,
        @DefaultValue("1h") Duration backoffMax,
        @DefaultValue("1s") Duration pollInterval,
        @DefaultValue("2m") Duration lease) {

    /** Most bytes of a receiver's answer that are read: only its status matters. */
    static final int RESPONSE_CAP = 4096;

    CallbackProperties {
        if (maxPerJob < 0) {
            throw new IllegalArgumentException(
                    "CALLBACK_MAX_PER_JOB must be 0 (no callbacks) or more, got " + maxPerJob);
        }
        if (lease.compareTo(timeout.multipliedBy(2)) < 0) {
            throw new IllegalArgumentException(
                    "the callback lease (" + lease + ") must be at least twice CALLBACK_TIMEOUT (" + timeout
                            + "), so an attempt ends before another instance may take the event");
        }
    }

    static CallbackProperties defaults() {
        return new org.springframework.boot.context.properties.bind.Binder()
                .bindOrCreate("bisectbot.callbacks", CallbackProperties.class);
    }

    /** Without the secrets, should the record ever be logged. */
    @Override
    public String toString() {
        return "CallbackProperties[secrets hidden, allowedHosts=" + allowedHosts + ", urls=" + urls + ", maxPerJob="
                + maxPerJob + ", deadAfter=" + deadAfter + ", timeout=" + timeout + "]";
    }

    List<String> secretList() {
        return list(secrets);
    }

    List<String> allowedHostList() {
        return list(allowedHosts);
    }

    List<String> urlList() {
        return list(urls);
    }

    private static List<String> list(String value) {
        return value == null
                ? List.of()
                : Arrays.stream(value.split(","))
                        .map(String::trim)
                        .filter(s -> !s.isEmpty())
                        .toList();
    }
}
