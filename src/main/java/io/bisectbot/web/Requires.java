package io.bisectbot.web;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The least role an endpoint needs: {@code Authorization: Bearer <token>} of that role or a higher one. Every handler
 * method carries this or {@link Public}; one with neither is refused.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
public @interface Requires {
    Role value();
}
