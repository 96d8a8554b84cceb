package io.bisectbot.web;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.server.ResponseStatusException;

/**
 * Guards {@link AdminOnly} endpoints with the admin bearer token, compared in constant time. Several tokens may be
 * configured (comma-separated) so a token can be rotated without a window where some instances refuse it.
 */
final class AdminTokenInterceptor implements HandlerInterceptor {

    private final List<byte[]> tokens;

    AdminTokenInterceptor(String configured) {
        this.tokens = configured == null ? List.of() : Arrays.stream(configured.split(","))
                .map(String::trim).filter(t -> !t.isEmpty()).map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
    }

    @Override
    public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        if (!(handler instanceof HandlerMethod method) || !method.hasMethodAnnotation(AdminOnly.class)) {
            return true;
        }
        if (tokens.isEmpty()) {
            throw new ResponseStatusException(HttpStatus.FORBIDDEN,
                    "admin endpoints are disabled: set ADMIN_TOKEN on the instance to enable them");
        }
        var header = request.getHeader("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ResponseStatusException(HttpStatus.UNAUTHORIZED, "missing 'Authorization: Bearer <admin token>' header");
        }
        var given = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        var matched = false;
        for (var token : tokens) {
            // Every token is compared, so the time taken does not say which one was close.
            matched |= MessageDigest.isEqual(given, token);
        }
        if (!matched) {
            throw new ResponseStatusException(HttpStatus.UNAUTHORIZED, "wrong admin token");
        }
        return true;
    }
}
