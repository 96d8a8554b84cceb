package io.bisectbot.web;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Next to {@link Requires} on an endpoint with an {@code {id}} path variable: a valid {@link ShareLinks} token for
 * that job in {@code ?share=} lets the request through without a role.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
public @interface SharedByLink {}
