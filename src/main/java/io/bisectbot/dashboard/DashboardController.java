package io.bisectbot.dashboard;

import io.bisectbot.web.Public;
import io.bisectbot.web.Requires;
import io.bisectbot.web.Role;
import io.bisectbot.web.TokenCheck;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.core.io.ClassPathResource;
import org.springframework.http.CacheControl;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * The pages (one HTML shell; the script renders the page its path names) and the login that makes a session. The shell
 * holds no data, so it is public; without a session it redirects to the login form.
 */
@RestController
@ConditionalOnWebApplication
class DashboardController {

    private final SessionCookies sessions;
    private final TokenCheck tokens;
    private final String appPage;
    private final String loginPage;

    DashboardController(SessionCookies sessions, TokenCheck tokens) {
        this.sessions = sessions;
        this.tokens = tokens;
        this.appPage = read("dashboard/app.html");
        this.loginPage = read("dashboard/login.html");
    }

    /** What the page script needs about its session; {@code csrf_token} goes into {@code X-CSRF-Token} of actions. */
    record SessionView(String role, Instant expiresAt, String csrfToken) {}

    @Public
    @GetMapping({
        "/dashboard",
        "/dashboard/jobs",
        "/dashboard/jobs/{id}",
        "/dashboard/jobs/{id}/logs/{step}",
        "/dashboard/dead-letters"
    })
    ResponseEntity<String> page(HttpServletRequest request) {
        if (sessions.session(request).isEmpty()) {
            var next =
                    request.getRequestURI() + (request.getQueryString() == null ? "" : "?" + request.getQueryString());
            return redirect("/dashboard/login?next=" + URLEncoder.encode(next, StandardCharsets.UTF_8));
        }
        return html(appPage);
    }

    @Public
    @GetMapping("/dashboard/login")
    ResponseEntity<String> loginForm(HttpServletRequest request) {
        if (sessions.session(request).isPresent()) {
            return redirect("/dashboard");
        }
        return html(loginPage);
    }

    /** The form posts {@code token} (a role's bearer token) and where to go next. Tries without a token are rate limited. */
    @Public
    @PostMapping("/dashboard/login")
    ResponseEntity<String> login(
            @RequestParam(required = false) String token,
            @RequestParam(required = false) String next,
            HttpServletRequest request) {
        var target = safeNext(next);
        if (token == null || token.isBlank()) {
            return redirect("/dashboard/login?error=missing&next=" + URLEncoder.encode(target, StandardCharsets.UTF_8));
        }
        var role = tokens.role(token.trim());
        if (role.isEmpty()) {
            return redirect("/dashboard/login?error=wrong&next=" + URLEncoder.encode(target, StandardCharsets.UTF_8));
        }
        return ResponseEntity.status(HttpStatus.SEE_OTHER)
                .header(HttpHeaders.LOCATION, target)
                .header(
                        HttpHeaders.SET_COOKIE,
                        sessions.cookie(sessions.issue(role.get()), request).toString())
                .build();
    }

    /** Ends the browser's session (with a session, the CSRF token is needed, as for any action). */
    @Public
    @PostMapping("/dashboard/logout")
    ResponseEntity<Void> logout(HttpServletRequest request) {
        return ResponseEntity.noContent()
                .header(HttpHeaders.SET_COOKIE, sessions.expired(request).toString())
                .build();
    }

    @Requires(Role.VIEWER)
    @GetMapping("/dashboard/session")
    ResponseEntity<SessionView> session(HttpServletRequest request) {
        var session = sessions.session(request);
        // A bearer token reaches here too; it has no session and needs no CSRF token.
        var view = session.map(s -> new SessionView(s.role().label(), s.expiresAt(), sessions.csrfToken(s)))
                .orElse(new SessionView(null, null, null));
        return ResponseEntity.ok().cacheControl(CacheControl.noStore()).body(view);
    }

    /** Only a path of the dashboard, so the login cannot be used to send someone elsewhere. */
    static String safeNext(String next) {
        if (next == null || !next.startsWith("/dashboard") || next.contains("\\") || next.contains("//")) {
            return "/dashboard";
        }
        return next;
    }

    private static ResponseEntity<String> redirect(String location) {
        return ResponseEntity.status(HttpStatus.SEE_OTHER)
                .header(HttpHeaders.LOCATION, location)
                .build();
    }

    private static ResponseEntity<String> html(String body) {
        return ResponseEntity.ok()
                .contentType(new MediaType(MediaType.TEXT_HTML, StandardCharsets.UTF_8))
                .cacheControl(CacheControl.noStore())
                .body(body);
    }

    private static String read(String resource) {
        try (var in = new ClassPathResource(resource).getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("the dashboard page " + resource + " is missing from the jar", e);
        }
    }
}
