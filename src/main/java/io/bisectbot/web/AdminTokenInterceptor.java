package io.bisectbot.web;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.springframework.http.HttpStatus;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.HandlerInterceptor;
import org.springframework.web.server.ResponseStatusException;

/** Guards {@link AdminOnly} endpoints with the admin bearer token, compared in constant time. */
final class AdminTokenInterceptor implements HandlerInterceptor {

    private final byte[] token;

    AdminTokenInterceptor(String token) {
        this.token = token == null || token.isBlank() ? null : token.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
        if (!(handler instanceof HandlerMethod method) || !method.hasMethodAnnotation(AdminOnly.class)) {
            return true;
        }
        if (token == null) {
            throw new ResponseStatusException(HttpStatus.FORBIDDEN,
                    "admin endpoints are disabled: set ADMIN_TOKEN on the instance to enable them");
        }
        var header = request.getHeader("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ResponseStatusException(HttpStatus.UNAUTHORIZED, "missing 'Authorization: Bearer <admin token>' header");
        }
        var given = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(given, token)) {
            throw new ResponseStatusException(HttpStatus.UNAUTHORIZED, "wrong admin token");
        }
        return true;
    }
}
