package io.bisectbot.web;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.servlet.HandlerMapping;

/**
 * Lets a request reach a handler method only as its {@link Requires} (with {@link PublicWithStats} and
 * {@link SharedByLink}) or {@link Public} says. Fails closed: a method with neither is refused.
 */
final class AccessInterceptor implements HandlerInterceptor {

    private static final Logger log = LoggerFactory.getLogger(AccessInterceptor.class);

    /** What a handler method needs: {@code role} null for public. */
    record Rule(Role role, boolean publicWithStats, boolean sharedByLink) {}

    private final AccessTokens tokens;
    private final ShareLinks shareLinks;
    private final boolean publicStats;

    AccessInterceptor(AccessTokens tokens, ShareLinks shareLinks, boolean publicStats) {
        this.tokens = tokens;
        this.shareLinks = shareLinks;
        this.publicStats = publicStats;
    }

    /** The method's rule; empty when it has none (and so is refused). */
    static Optional<Rule> rule(HandlerMethod method) {
        if (method.hasMethodAnnotation(Public.class)) {
            return Optional.of(new Rule(null, false, false));
        }
        var requires = method.getMethodAnnotation(Requires.class);
        if (requires != null) {
            return Optional.of(new Rule(
                    requires.value(),
                    method.hasMethodAnnotation(PublicWithStats.class),
                    method.hasMethodAnnotation(SharedByLink.class)));
        }
        // Spring's error page only renders an error that already happened to some other request.
        if (ErrorController.class.isAssignableFrom(method.getBeanType())) {
            return Optional.of(new Rule(null, false, false));
        }
        return Optional.empty();
    }

    @Override
    public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        if (!(handler instanceof HandlerMethod method)) {
            return true; // no controller: the answer is a 404 from the resource handler
        }
        var rule = rule(method).orElseThrow(() -> {
            log.error("{} has no @Requires or @Public; it is refused until it has one", method.getShortLogMessage());
            return new ResponseStatusException(
                    HttpStatus.INTERNAL_SERVER_ERROR, "this endpoint has no access rule; it is refused");
        });
        if (rule.role() == null || (rule.publicWithStats() && publicStats)) {
            return true;
        }
        var caller = request.getAttribute(AccessFilter.CALLER) instanceof AccessTokens.Caller c
                ? c
                : AccessTokens.Caller.ANONYMOUS;
        var refusal = tokens.refusal(caller, rule.role());
        if (refusal.isEmpty()) {
            return true;
        }
        var share = request.getParameter(ShareLinks.PARAMETER);
        if (rule.sharedByLink() && share != null) {
            if (shareLinks.verify(jobId(request), share)) {
                return true;
            }
            throw unauthorized("the share link is not valid for this job or has expired; ask for a new link, or send a "
                    + rule.role().label() + " token");
        }
        if (refusal.get().status() == HttpStatus.UNAUTHORIZED) {
            throw unauthorized(refusal.get().message());
        }
        throw new ResponseStatusException(refusal.get().status(), refusal.get().message());
    }

    private static long jobId(HttpServletRequest request) {
        var variables = (Map<?, ?>) request.getAttribute(HandlerMapping.URI_TEMPLATE_VARIABLES_ATTRIBUTE);
        try {
            return Long.parseLong(String.valueOf(variables == null ? null : variables.get("id")));
        } catch (NumberFormatException e) {
            return -1; // never signed, so the link is refused
        }
    }

    private static ResponseStatusException unauthorized(String message) {
        return new Unauthorized(message);
    }

    /** A 401 that tells the client which scheme to use. */
    private static final class Unauthorized extends ResponseStatusException {
        Unauthorized(String message) {
            super(HttpStatus.UNAUTHORIZED, message);
        }

        @Override
        public HttpHeaders getHeaders() {
            var headers = new HttpHeaders();
            headers.set(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
            return headers;
        }
    }
}
