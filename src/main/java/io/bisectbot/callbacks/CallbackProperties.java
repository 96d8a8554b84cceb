package io.bisectbot.callbacks;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Signed job callbacks, with the defaults in one place (application.yml maps each to an environment variable).
 *
 * @param secrets      {@code CALLBACK_SECRETS}, comma-separated: every event is signed with each (one {@code v1=} per
 *                     secret), so receivers can move to a new one while the old one is still listed
 * @param allowedHosts {@code CALLBACK_ALLOWED_HOSTS}, comma-separated host names ({@code *.example.com} for
 *                     subdomains) or addresses; empty allows any host with only public addresses
 * @param urls         {@code CALLBACK_URLS}, comma-separated: every job started from GitHub reports its end there
 * @param maxPerJob    {@code CALLBACK_MAX_PER_JOB}: most callbacks one job may carry
 * @param deadAfter    {@code CALLBACK_DEAD_AFTER}: an event failing this long after its first failure is dead-lettered
 * @param timeout      {@code CALLBACK_TIMEOUT}: connect and response timeout of one attempt
 * @param backoffBase  {@code CALLBACK_BACKOFF_BASE}: delay after the first failure; doubles per attempt, jittered
 * @param backoffMax   {@code CALLBACK_BACKOFF_MAX}: the largest delay between attempts (also caps {@code Retry-After})
 * @param pollInterval how often each instance looks for due events
 * @param lease        how long a claimed event is reserved for the instance delivering it
 */
@ConfigurationProperties("bisectbot.callbacks")
record CallbackProperties(String secrets, String allowedHosts, String urls, Integer maxPerJob, Duration deadAfter,
                          Duration timeout, Duration backoffBase, Duration backoffMax, Duration pollInterval,
                          Duration lease) {

    /** Most bytes of a receiver's answer that are read: only its status matters. */
    static final int RESPONSE_CAP = 4096;

    CallbackProperties {
        // An unset variable arrives as an empty value, so the defaults are applied here rather than by the binder.
        maxPerJob = maxPerJob != null ? maxPerJob : 5;
        deadAfter = deadAfter != null ? deadAfter : Duration.ofHours(24);
        timeout = timeout != null ? timeout : Duration.ofSeconds(10);
        backoffBase = backoffBase != null ? backoffBase : Duration.ofSeconds(5);
        backoffMax = backoffMax != null ? backoffMax : Duration.ofHours(1);
        pollInterval = pollInterval != null ? pollInterval : Duration.ofSeconds(1);
        lease = lease != null ? lease : Duration.ofMinutes(2);
        if (maxPerJob < 0) {
            throw new IllegalArgumentException("CALLBACK_MAX_PER_JOB must be 0 (no callbacks) or more, got " + maxPerJob);
        }
        if (lease.compareTo(timeout.multipliedBy(2)) < 0) {
            throw new IllegalArgumentException("the callback lease (" + lease + ") must be at least twice CALLBACK_TIMEOUT ("
                    + timeout + "), so an attempt ends before another instance may take the event");
        }
    }

    static CallbackProperties defaults() {
        return new CallbackProperties(null, null, null, null, null, null, null, null, null, null);
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
        return value == null ? List.of() : Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
}
