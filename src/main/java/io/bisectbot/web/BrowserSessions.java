package io.bisectbot.web;

import jakarta.servlet.http.HttpServletRequest;
import java.util.Optional;

/**
 * Browser sessions (the dashboard's signed cookie) as a second way to authenticate besides the bearer token. A request
 * authenticated this way that changes something must also carry the session's CSRF token, since a browser attaches
 * cookies to requests other sites make it send.
 */
public interface BrowserSessions {

    /** The role of the request's session cookie, when it carries a valid, unexpired one. */
    Optional<Role> role(HttpServletRequest request);

    /** Empty when this request made with a session may go on; else why it is refused (answered 403). */
    Optional<String> csrfRefusal(HttpServletRequest request);

    /** Who the session is, for job histories: its role and a fingerprint of the session, e.g. "operator session 9b1d04aa". */
    default Optional<String> actor(HttpServletRequest request) {
        return role(request).map(role -> role.label() + " session");
    }
}
