package io.bisectbot.bisect;

import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Words quoted for a POSIX shell, so that a printed command line runs exactly the same argv when pasted. */
final class ShellWords {

    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

    private ShellWords() {}

    /** Single quotes keep everything literal; a single quote itself is closed, escaped and reopened. */
    static String quote(String word) {
        return SAFE.matcher(word).matches() ? word : "'" + word.replace("'", "'\\''") + "'";
    }

    static String join(List<String> words) {
        return words.stream().map(ShellWords::quote).collect(Collectors.joining(" "));
    }
}
