package io.bisectbot.web;

import java.util.Optional;

/** The role of a bearer token, for a login form that receives the token itself rather than in a header. */
public interface TokenCheck {

    /** The token's role; empty when it is not one of this instance's tokens. */
    Optional<Role> role(String token);
}
