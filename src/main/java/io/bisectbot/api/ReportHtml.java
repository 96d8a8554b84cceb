package io.bisectbot.api;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.commonmark.ext.gfm.tables.TablesExtension;
import org.commonmark.node.HtmlBlock;
import org.commonmark.node.HtmlInline;
import org.commonmark.node.Link;
import org.commonmark.node.Node;
import org.commonmark.parser.Parser;
import org.commonmark.renderer.NodeRenderer;
import org.commonmark.renderer.html.HtmlNodeRendererContext;
import org.commonmark.renderer.html.HtmlRenderer;
import org.commonmark.renderer.html.HtmlWriter;

/**
 * A bisect report's Markdown as HTML for the job's page. Everything is escaped: HTML in the Markdown (which can hold
 * commit subjects, error messages and test output) comes out as text, and only http, https and mailto links survive.
 * The one exception is the report's own collapsible steps list, {@code <details><summary>…</summary>} and
 * {@code </details>} on lines of their own, written as those two tags with the summary's text escaped.
 */
final class ReportHtml {

    /** The report is rendered whole; a larger one (never written by the service) is refused rather than parsed. */
    static final int MAX_CHARS = 1_000_000;

    private static final List<org.commonmark.Extension> EXTENSIONS = List.of(TablesExtension.create());
    private static final Parser PARSER = Parser.builder().extensions(EXTENSIONS).build();
    private static final HtmlRenderer RENDERER = HtmlRenderer.builder()
            .extensions(EXTENSIONS)
            .escapeHtml(true)
            .sanitizeUrls(true)
            .nodeRendererFactory(DetailsOnly::new)
            .attributeProviderFactory(context -> (node, tag, attributes) -> {
                if (node instanceof Link) {
                    attributes.put("rel", "noopener noreferrer");
                }
            })
            .build();

    private ReportHtml() {}

    static String render(String markdown) {
        if (markdown == null) {
            return null;
        }
        if (markdown.length() > MAX_CHARS) {
            return "<p>"
                    + escape("The report has " + markdown.length() + " characters, more than the page shows ("
                            + MAX_CHARS + "); read it as Markdown.")
                    + "</p>";
        }
        return RENDERER.render(PARSER.parse(markdown));
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;")
                .replace("<", "&lt;")
                .replace(">", "&gt;")
                .replace("\"", "&quot;");
    }

    /** Renders HTML blocks and inline HTML as text, except the report's own {@code details} and {@code summary} tags. */
    private static final class DetailsOnly implements NodeRenderer {

        private static final Pattern OPEN = Pattern.compile("\\s*<details>\\s*<summary>([^<>]*)</summary>\\s*");
        private static final Pattern CLOSE = Pattern.compile("\\s*</details>\\s*");

        private final HtmlWriter html;

        DetailsOnly(HtmlNodeRendererContext context) {
            this.html = context.getWriter();
        }

        @Override
        public Set<Class<? extends Node>> getNodeTypes() {
            return Set.of(HtmlBlock.class, HtmlInline.class);
        }

        @Override
        public void render(Node node) {
            if (node instanceof HtmlInline inline) {
                html.text(inline.getLiteral());
                return;
            }
            var literal = ((HtmlBlock) node).getLiteral();
            var open = OPEN.matcher(literal);
            html.line();
            if (open.matches()) {
                html.tag("details");
                html.tag("summary");
                html.text(open.group(1));
                html.tag("/summary");
            } else if (CLOSE.matcher(literal).matches()) {
                html.tag("/details");
            } else {
                html.tag("p", Map.of());
                html.text(literal);
                html.tag("/p");
            }
            html.line();
        }
    }
}
