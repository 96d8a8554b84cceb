package io.bisectbot.executor;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Which container images a repository's config may name ({@code ALLOWED_IMAGES}). Each pattern is an image
 * reference, where {@code *} matches any run of characters and a trailing {@code /} or {@code :} means "anything
 * below" ({@code ghcr.io/acme/} allows every image of that namespace). With no pattern configured only the
 * service's default images are allowed: a stranger's config must not pick an image the operator never looked at.
 */
public final class ImagePolicy {

    private final List<String> patterns;
    private final List<Pattern> compiled;

    private ImagePolicy(List<String> patterns) {
        this.patterns = List.copyOf(patterns);
        this.compiled = this.patterns.stream().map(ImagePolicy::compile).toList();
    }

    /** {@code configured} patterns, or when there are none, exactly {@code defaultImages}. */
    public static ImagePolicy of(Collection<String> configured, String... defaultImages) {
        var patterns = new LinkedHashSet<String>();
        if (configured != null) {
            configured.stream().map(String::strip).filter(p -> !p.isEmpty()).forEach(patterns::add);
        }
        if (patterns.isEmpty()) {
            for (var image : defaultImages) {
                if (image != null && !image.isBlank()) {
                    patterns.add(image.strip());
                }
            }
        }
        return new ImagePolicy(new ArrayList<>(patterns));
    }

    public boolean allows(String image) {
        return image != null && compiled.stream().anyMatch(p -> p.matcher(image).matches());
    }

    /** The refusal a config error shows: the image and what is allowed instead. */
    public String refusal(String image) {
        return "image `" + image + "` is not allowed on this service; allowed: "
                + String.join(", ", patterns.stream().map(p -> "`" + p + "`").toList())
                + " (an operator sets ALLOWED_IMAGES)";
    }

    private static Pattern compile(String pattern) {
        var regex = new StringBuilder();
        for (var part : pattern.split("\\*", -1)) {
            if (!regex.isEmpty()) {
                regex.append(".*");
            }
            regex.append(Pattern.quote(part));
        }
        if (pattern.endsWith("/") || pattern.endsWith(":")) {
            regex.append(".+");
        }
        return Pattern.compile(regex.toString());
    }
}
