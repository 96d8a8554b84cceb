package io.bisectbot.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Map;
import java.util.Set;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.util.UrlPathHelper;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs before every request: works out the caller from its bearer token or browser session (for {@link AccessInterceptor}), limits the
 * request rate of callers without a valid token per source address, and guards the actuator's {@code /metrics},
 * which is served outside the controllers the interceptor sees.
 */
final class AccessFilter extends OncePerRequestFilter {

    static final String CALLER = AccessFilter.class.getName() + ".caller";
    /** Who the caller is, for job histories (see {@link Actors}). */
    static final String ACTOR = AccessFilter.class.getName() + ".actor";
    /** Actuator endpoints; each needs {@link Role#VIEWER} unless {@code PUBLIC_STATS=true}. */
    static final Set<String> ACTUATOR_PATHS = Set.of("/metrics");
    /**
     * Not rate limited: GitHub delivers webhooks from a few shared addresses (the signature is the check there), and a
     * load balancer's health probes all come from one address; a 429 would take the instance out of rotation.
     */
    static final Set<String> UNLIMITED_PATHS = Set.of("/webhooks/github", "/health");

    /** Methods that change nothing, so a cookie-authenticated request needs no CSRF token for them. */
    private static final Set<String> SAFE_METHODS = Set.of("GET", "HEAD", "OPTIONS");

    private static final UrlPathHelper PATHS = new UrlPathHelper();

    private final AccessTokens tokens;
    private final RateLimiter limiter;
    private final TrustedProxies proxies;
    private final boolean publicStats;
    private final JsonMapper json;
    private final ObjectProvider<BrowserSessions> sessions;

    AccessFilter(
            AccessTokens tokens,
            RateLimiter limiter,
            TrustedProxies proxies,
            boolean publicStats,
            JsonMapper json,
            ObjectProvider<BrowserSessions> sessions) {
        this.tokens = tokens;
        this.sessions = sessions;
        this.limiter = limiter;
        this.proxies = proxies;
        this.publicStats = publicStats;
        this.json = json;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        var authorization = request.getHeader(HttpHeaders.AUTHORIZATION);
        var caller = tokens.caller(authorization);
        if (caller.authenticated()) {
            request.setAttribute(ACTOR, AccessTokens.actor(caller.role(), authorization));
        }
        var browser = sessions.getIfAvailable();
        if (browser != null && (authorization == null || authorization.isBlank())) {
            var role = browser.role(request);
            if (role.isPresent()) {
                if (!SAFE_METHODS.contains(request.getMethod())) {
                    var refusal = browser.csrfRefusal(request);
                    if (refusal.isPresent()) {
                        write(response, HttpStatus.FORBIDDEN, refusal.get());
                        return;
                    }
                }
                caller = new AccessTokens.Caller(AccessTokens.Caller.State.VALID, role.get());
                request.setAttribute(
                        ACTOR, browser.actor(request).orElse(role.get().label() + " session"));
            }
        }
        request.setAttribute(CALLER, caller);
        // Decoded and without ;parameters, as the handler mappings see it, so /%6detrics is /metrics here too.
        var path = PATHS.getPathWithinApplication(request);
        if (!caller.authenticated() && limiter.enabled() && !UNLIMITED_PATHS.contains(path)) {
            var wait = limiter.acquire(proxies.clientAddress(request));
            if (wait > 0) {
                response.setHeader(HttpHeaders.RETRY_AFTER, Long.toString(wait));
                write(
                        response,
                        HttpStatus.TOO_MANY_REQUESTS,
                        "too many requests without a token from this address; " + "retry in " + wait
                                + " s, or send 'Authorization: Bearer <token>'");
                return;
            }
        }
        if (!publicStats && ACTUATOR_PATHS.stream().anyMatch(p -> path.equals(p) || path.startsWith(p + "/"))) {
            var refusal = tokens.refusal(caller, Role.VIEWER);
            if (refusal.isPresent()) {
                write(response, refusal.get().status(), refusal.get().message());
                return;
            }
        }
        chain.doFilter(request, response);
    }

    private void write(HttpServletResponse response, HttpStatus status, String message) throws IOException {
        if (status == HttpStatus.UNAUTHORIZED) {
            response.setHeader(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
        }
        response.setStatus(status.value());
        response.setContentType(MediaType.APPLICATION_JSON_VALUE);
        response.getOutputStream().write(json.writeValueAsBytes(Map.of("error", message, "status", status.value())));
    }
}
