package io.bisectbot.bisect;

import java.util.Locale;

/**
 * A small SVG chart of a metric-mode job: one column per measured commit, oldest on the left; a dot at the median, a
 * thick bar from the first to the third quartile and a thin line from min to max; a dashed line at the good end's
 * median and a dotted one where the threshold lies. Drawn as text; every piece of commit text is XML-escaped.
 */
final class MetricChart {

    private static final int TOP = 24;
    private static final int PLOT_HEIGHT = 180;
    private static final int LEFT = 64;
    private static final int COLUMN = 36;
    private static final int BOTTOM = 56;

    private MetricChart() {}

    static String svg(MetricSummary summary) {
        var commits = summary.commits();
        int width = LEFT + Math.max(1, commits.size()) * COLUMN + 16;
        int height = TOP + PLOT_HEIGHT + BOTTOM;
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (var c : commits) {
            lo = Math.min(lo, c.min());
            hi = Math.max(hi, c.max());
        }
        Double base = commits.stream()
                .filter(c -> c.role().equals("good"))
                .map(MetricSummary.CommitSample::median)
                .findFirst()
                .orElse(null);
        Double limit = null;
        if (base != null) {
            double delta = Math.abs(base) * summary.options().threshold();
            limit = summary.options().direction() == MetricOptions.Direction.LOWER_IS_BETTER
                    ? base + delta
                    : base - delta;
            lo = Math.min(lo, limit);
            hi = Math.max(hi, limit);
        }
        if (!Double.isFinite(lo)) {
            lo = 0;
            hi = 1;
        }
        if (hi == lo) {
            hi = lo + Math.max(1e-9, Math.abs(lo) * 0.1);
        }
        double pad = (hi - lo) * 0.08;
        final double min = lo - pad;
        final double max = hi + pad;
        java.util.function.DoubleUnaryOperator y = v -> TOP + PLOT_HEIGHT - (v - min) / (max - min) * PLOT_HEIGHT;

        var svg = new StringBuilder();
        svg.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"")
                .append(width)
                .append("\" height=\"")
                .append(height)
                .append("\" viewBox=\"0 0 ")
                .append(width)
                .append(' ')
                .append(height)
                .append("\" font-family=\"sans-serif\" font-size=\"10\">\n");
        String what = summary.options().source() == MetricOptions.Source.WALL ? "wall time (s)" : "metric";
        svg.append("<title>")
                .append(escape(
                        what + " per commit, " + summary.options().direction().word()))
                .append("</title>\n");
        svg.append("<rect x=\"0\" y=\"0\" width=\"")
                .append(width)
                .append("\" height=\"")
                .append(height)
                .append("\" fill=\"#ffffff\"/>\n");
        svg.append(line(LEFT, TOP, LEFT, TOP + PLOT_HEIGHT, "#444444", 1, null));
        svg.append(line(LEFT, TOP + PLOT_HEIGHT, width - 8, TOP + PLOT_HEIGHT, "#444444", 1, null));
        for (double v : new double[] {min + pad, (min + max) / 2, max - pad}) {
            double py = y.applyAsDouble(v);
            svg.append(line(LEFT - 4, py, LEFT, py, "#444444", 1, null));
            svg.append("<text x=\"")
                    .append(LEFT - 6)
                    .append("\" y=\"")
                    .append(fmt(py + 3))
                    .append("\" text-anchor=\"end\">")
                    .append(escape(number(v)))
                    .append("</text>\n");
        }
        if (base != null) {
            svg.append(line(LEFT, y.applyAsDouble(base), width - 8, y.applyAsDouble(base), "#2e7d32", 1, "4 3"));
            svg.append(line(LEFT, y.applyAsDouble(limit), width - 8, y.applyAsDouble(limit), "#c62828", 1, "1 3"));
        }
        for (int i = 0; i < commits.size(); i++) {
            var c = commits.get(i);
            double x = LEFT + COLUMN * i + COLUMN / 2.0;
            String colour = colour(c);
            svg.append("<g>\n<title>")
                    .append(escape(shortSha(c.commit().sha()) + " "
                            + oneLine(c.commit().subject())
                            + ": median " + number(c.median()) + ", IQR " + number(c.q1()) + "–" + number(c.q3())
                            + ", min–max "
                            + number(c.min()) + "–" + number(c.max()) + ", n = " + c.n()
                            + (c.change() == null
                                    ? ""
                                    : ", " + MetricStats.percent(c.change()) + ", p = "
                                            + MetricStats.pText(c.pValue()))))
                    .append("</title>\n");
            svg.append(line(x, y.applyAsDouble(c.min()), x, y.applyAsDouble(c.max()), colour, 1, null));
            svg.append("<rect x=\"")
                    .append(fmt(x - 5))
                    .append("\" y=\"")
                    .append(fmt(y.applyAsDouble(c.q3())))
                    .append("\" width=\"10\" height=\"")
                    .append(fmt(Math.max(1, y.applyAsDouble(c.q1()) - y.applyAsDouble(c.q3()))))
                    .append("\" fill=\"")
                    .append(colour)
                    .append("\" fill-opacity=\"0.35\" stroke=\"")
                    .append(colour)
                    .append("\"/>\n");
            svg.append("<circle cx=\"")
                    .append(fmt(x))
                    .append("\" cy=\"")
                    .append(fmt(y.applyAsDouble(c.median())))
                    .append("\" r=\"3\" fill=\"")
                    .append(colour)
                    .append("\"/>\n");
            svg.append("<text x=\"")
                    .append(fmt(x))
                    .append("\" y=\"")
                    .append(TOP + PLOT_HEIGHT + 12)
                    .append("\" text-anchor=\"end\" transform=\"rotate(-45 ")
                    .append(fmt(x))
                    .append(' ')
                    .append(TOP + PLOT_HEIGHT + 12)
                    .append(")\">")
                    .append(escape(c.commit()
                            .sha()
                            .substring(0, Math.min(7, c.commit().sha().length()))))
                    .append("</text>\n</g>\n");
        }
        svg.append("<text x=\"")
                .append(LEFT)
                .append("\" y=\"14\">")
                .append(escape(
                        "median, quartiles and range per commit (oldest left); dashed: good end, dotted: threshold"))
                .append("</text>\n");
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static String colour(MetricSummary.CommitSample c) {
        if (c.role().equals("good")) return "#2e7d32";
        if (c.role().equals("bad")) return "#c62828";
        if (c.verdict() == null) return "#757575";
        return switch (c.verdict()) {
            case GOOD -> "#2e7d32";
            case BAD -> "#c62828";
            case SKIP -> "#757575";
        };
    }

    private static String line(double x1, double y1, double x2, double y2, String colour, int width, String dash) {
        return "<line x1=\"" + fmt(x1) + "\" y1=\"" + fmt(y1) + "\" x2=\"" + fmt(x2) + "\" y2=\"" + fmt(y2)
                + "\" stroke=\"" + colour + "\" stroke-width=\"" + width + "\""
                + (dash == null ? "" : " stroke-dasharray=\"" + dash + "\"") + "/>\n";
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String number(double v) {
        if (!Double.isFinite(v)) return String.valueOf(v);
        double a = Math.abs(v);
        if (a != 0 && (a >= 1e6 || a < 1e-3)) return String.format(Locale.ROOT, "%.3g", v);
        return String.format(Locale.ROOT, a >= 100 ? "%.1f" : "%.4g", v);
    }

    private static String shortSha(String sha) {
        return sha.substring(0, Math.min(12, sha.length()));
    }

    private static String oneLine(String text) {
        return text == null ? "" : text.replace('\r', ' ').replace('\n', ' ');
    }

    /** Escapes text for XML content and attribute values; drops characters XML 1.0 cannot carry. */
    static String escape(String text) {
        if (text == null) return "";
        var out = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            switch (cp) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&apos;");
                default -> {
                    boolean allowed = cp == 0x9
                            || cp == 0xA
                            || cp == 0xD
                            || cp >= 0x20 && cp <= 0xD7FF
                            || cp >= 0xE000 && cp <= 0xFFFD
                            || cp >= 0x10000 && cp <= 0x10FFFF;
                    if (allowed) out.appendCodePoint(cp);
                }
            }
        });
        return out.toString();
    }
}
