package io.bisectbot.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.context.ApplicationContext;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.servlet.mvc.method.RequestMappingInfoHandlerMapping;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Who may call what: every endpoint against every kind of caller, as {@link #ENDPOINTS} says, which must list every
 * endpoint the application maps and agree with the README's table.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class AccessControlTest {

    static final String ADMIN = "admin-token-of-the-access-test";
    static final String OPERATOR = "operator-token-of-the-access-test";
    static final String VIEWER = "viewer-token-of-the-access-test";
    static final String WRONG = "not-a-token-of-this-instance";
    static final int RATE_LIMIT = 5;
    static final long MISSING = 987_654_321L;

    /** One endpoint: its mapping, a request that reaches it, the role it needs (null: public) and its answer then. */
    record Endpoint(String method, String pattern, String path, String body, Role role, int allowed) {
        String key() {
            return method + " " + pattern;
        }

        String roleLabel() {
            return role == null ? "public" : role.label();
        }
    }

    static final List<Endpoint> ENDPOINTS = List.of(
            new Endpoint("GET", "/health", "/health", null, null, 200),
            new Endpoint(
                    "POST",
                    "/webhooks/github",
                    "/webhooks/github",
                    "{}",
                    null,
                    401), // unsigned: refused by the signature check
            new Endpoint(
                    "GET",
                    "/dashboard",
                    "/dashboard",
                    null,
                    null,
                    303), // the page shell: to the login without a session
            new Endpoint("GET", "/dashboard/jobs", "/dashboard/jobs", null, null, 303),
            new Endpoint("GET", "/dashboard/jobs/{id}", "/dashboard/jobs/" + MISSING, null, null, 303),
            new Endpoint(
                    "GET",
                    "/dashboard/jobs/{id}/logs/{step}",
                    "/dashboard/jobs/" + MISSING + "/logs/1",
                    null,
                    null,
                    303),
            new Endpoint("GET", "/dashboard/dead-letters", "/dashboard/dead-letters", null, null, 303),
            new Endpoint("GET", "/dashboard/login", "/dashboard/login", null, null, 200),
            new Endpoint("POST", "/dashboard/login", "/dashboard/login", "{}", null, 303), // no token: back to the form
            new Endpoint("POST", "/dashboard/logout", "/dashboard/logout", null, null, 204),
            new Endpoint("GET", "/dashboard/session", "/dashboard/session", null, Role.VIEWER, 200),
            new Endpoint("GET", "/stats", "/stats", null, Role.VIEWER, 200),
            new Endpoint("GET", "/metrics", "/metrics", null, Role.VIEWER, 200),
            new Endpoint("GET", "/stats/minutes", "/stats/minutes?range=24h", null, Role.VIEWER, 200),
            new Endpoint("GET", "/jobs", "/jobs?status=FAILED&q=repo:acme/app", null, Role.VIEWER, 200),
            new Endpoint("GET", "/workers", "/workers", null, Role.VIEWER, 200),
            new Endpoint("GET", "/job/{id}", "/job/" + MISSING, null, Role.VIEWER, 404),
            new Endpoint("GET", "/job/{id}/logs", "/job/" + MISSING + "/logs", null, Role.VIEWER, 404),
            new Endpoint("GET", "/job/{id}/logs/{step}", "/job/" + MISSING + "/logs/1", null, Role.VIEWER, 404),
            new Endpoint("GET", "/job/{id}/bisect", "/job/" + MISSING + "/bisect", null, Role.VIEWER, 404),
            new Endpoint("GET", "/job/{id}/report", "/job/" + MISSING + "/report", null, Role.VIEWER, 404),
            new Endpoint("GET", "/job/{id}/chart.svg", "/job/" + MISSING + "/chart.svg", null, Role.VIEWER, 404),
            new Endpoint("GET", "/admin/outbox", "/admin/outbox", null, Role.VIEWER, 200),
            new Endpoint("GET", "/admin/dead-letters", "/admin/dead-letters", null, Role.VIEWER, 200),
            new Endpoint("POST", "/jobs/{id}/cancel", "/jobs/" + MISSING + "/cancel", null, Role.OPERATOR, 404),
            new Endpoint("POST", "/jobs/{id}/retry", "/jobs/" + MISSING + "/retry", null, Role.OPERATOR, 404),
            new Endpoint(
                    "POST",
                    "/jobs/bulk",
                    "/jobs/bulk",
                    "{\"action\": \"retry\", \"ids\": [" + MISSING + "], \"dry_run\": true}",
                    Role.OPERATOR,
                    200),
            new Endpoint(
                    "POST",
                    "/admin/outbox/{id}/retry",
                    "/admin/outbox/" + MISSING + "/retry",
                    null,
                    Role.OPERATOR,
                    404),
            new Endpoint(
                    "POST",
                    "/admin/callbacks/replay",
                    "/admin/callbacks/replay",
                    "{\"job\": " + MISSING + "}",
                    Role.OPERATOR,
                    200),
            new Endpoint("POST", "/jobs", "/jobs", "{}", Role.ADMIN, 400),
            new Endpoint("POST", "/bisect", "/bisect", "{}", Role.ADMIN, 400),
            new Endpoint(
                    "POST",
                    "/admin/deliveries/{id}/reprocess",
                    "/admin/deliveries/no-such-delivery/reprocess",
                    null,
                    Role.ADMIN,
                    404));

    private static final JsonMapper json = JsonMapper.builder().build();
    private static final AtomicInteger addresses = new AtomicInteger();
    private final HttpClient http = HttpClient.newHttpClient();

    @LocalServerPort
    int port;

    @Autowired
    ApplicationContext context;

    @Autowired
    ShareLinks shareLinks;

    @Autowired
    DataSource dataSource;

    @DynamicPropertySource
    static void settings(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.web.admin-token", () -> ADMIN);
        registry.add("bisectbot.web.operator-token", () -> OPERATOR);
        registry.add("bisectbot.web.viewer-token", () -> "an-older-viewer-token," + VIEWER);
        registry.add("bisectbot.web.share-link-keys", () -> ShareLinksTest.KEY);
        registry.add("bisectbot.web.rate-limit-per-minute", () -> RATE_LIMIT);
        // The test client is the proxy: each test names its own client address.
        registry.add("bisectbot.web.trusted-proxies", () -> "127.0.0.1/32, ::1/128");
    }

    record Reply(int status, JsonNode body, String text, HttpResponse<String> response) {}

    Reply send(String method, String path, String body, String token, String clientAddress) throws Exception {
        var request = HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json")
                .header("X-Forwarded-For", clientAddress);
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        var response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode parsed = null;
        try {
            parsed = json.readTree(response.body());
        } catch (RuntimeException ignored) {
            // Markdown or Prometheus text.
        }
        return new Reply(response.statusCode(), parsed, response.body(), response);
    }

    /** Each request from a new address, so the rate limit stays out of the way. */
    Reply send(String method, String path, String body, String token) throws Exception {
        var n = addresses.incrementAndGet();
        return send(method, path, body, token, "198.18." + (n / 250) + "." + (n % 250 + 1));
    }

    /** Every endpoint the application maps, as {@code METHOD pattern}, with the handler it maps to. */
    private Map<String, Object> mappedEndpoints() {
        var found = new TreeMap<String, Object>();
        for (var mapping :
                context.getBeansOfType(RequestMappingInfoHandlerMapping.class).values()) {
            mapping.getHandlerMethods().forEach((info, method) -> {
                if (ErrorController.class.isAssignableFrom(method.getBeanType())) {
                    return; // renders errors of other requests; public by design
                }
                for (var pattern : info.getPatternValues()) {
                    var methods = info.getMethodsCondition().getMethods();
                    assertThat(methods)
                            .as("%s maps every HTTP method; name them", pattern)
                            .isNotEmpty();
                    methods.forEach(m -> found.put(m.name() + " " + pattern, method));
                }
            });
        }
        return found;
    }

    @Test
    void every_handler_method_names_a_role_or_is_public() {
        var mapped = mappedEndpoints();
        assertThat(mapped).isNotEmpty();
        var listed = new HashMap<String, Endpoint>();
        ENDPOINTS.forEach(e -> listed.put(e.key(), e));
        var problems = new ArrayList<String>();
        mapped.forEach((key, handler) -> {
            var pattern = key.substring(key.indexOf(' ') + 1);
            var method = (org.springframework.web.method.HandlerMethod) handler;
            String role;
            if (method.getBeanType().getPackageName().startsWith("io.bisectbot")) {
                var rule = AccessInterceptor.rule(method);
                if (rule.isEmpty()) {
                    problems.add(key + " (" + method.getShortLogMessage() + ") has neither @Requires nor @Public");
                    return;
                }
                role = rule.get().role() == null ? "public" : rule.get().role().label();
            } else if (AccessFilter.ACTUATOR_PATHS.contains(pattern)) {
                role = "viewer";
            } else {
                problems.add(key + " is an actuator endpoint that AccessFilter.ACTUATOR_PATHS does not guard");
                return;
            }
            var entry = listed.get(key);
            if (entry == null) {
                problems.add(key + " is mapped but not in ENDPOINTS (and so not tested)");
            } else if (!entry.roleLabel().equals(role)) {
                problems.add(key + " needs " + role + " in the code but " + entry.roleLabel() + " in ENDPOINTS");
            }
        });
        ENDPOINTS.stream()
                .filter(e -> !mapped.containsKey(e.key()))
                .forEach(e -> problems.add(e.key() + " is listed but not mapped"));
        assertThat(problems).isEmpty();
    }

    @Test
    void every_endpoint_answers_every_kind_of_caller_as_documented() throws Exception {
        var callers = new java.util.LinkedHashMap<String, Role>();
        callers.put("no token", null);
        callers.put("wrong token", null);
        callers.put("viewer", Role.VIEWER);
        callers.put("operator", Role.OPERATOR);
        callers.put("admin", Role.ADMIN);
        var tokens = Map.of("wrong token", WRONG, "viewer", VIEWER, "operator", OPERATOR, "admin", ADMIN);
        var mismatches = new ArrayList<String>();
        for (var endpoint : ENDPOINTS) {
            for (var caller : callers.entrySet()) {
                var role = caller.getValue();
                int expected = endpoint.role() == null || (role != null && role.satisfies(endpoint.role()))
                        ? endpoint.allowed()
                        : role == null ? 401 : 403;
                var reply = send(endpoint.method(), endpoint.path(), endpoint.body(), tokens.get(caller.getKey()));
                if (reply.status() != expected) {
                    mismatches.add(endpoint.key() + " as " + caller.getKey() + ": " + reply.status() + " (expected "
                            + expected + ") " + reply.text());
                } else if (endpoint.role() != null && (expected == 401 || expected == 403)) {
                    assertThat(reply.body().get("status").asInt()).isEqualTo(expected);
                    assertThat(reply.body().get("error").asString())
                            .isNotBlank()
                            .doesNotContain(WRONG);
                    if (expected == 401) {
                        assertThat(reply.response().headers().firstValue("WWW-Authenticate"))
                                .as(endpoint.key())
                                .hasValue("Bearer");
                    }
                }
            }
        }
        assertThat(mismatches).isEmpty();
    }

    @Test
    void the_readme_endpoints_table_agrees_with_the_code() throws Exception {
        var readme = Files.readAllLines(Path.of("README.md"));
        var start = readme.indexOf("#### Endpoints");
        assertThat(start).as("README.md has a '#### Endpoints' section").isNotNegative();
        var documented = new TreeSet<String>();
        for (var line : readme.subList(start + 1, readme.size())) {
            if (line.startsWith("#")) {
                break;
            }
            if (line.startsWith("| `")) {
                var cells = line.split("\\|");
                documented.add(cells[1].strip().replace("`", "") + " "
                        + cells[2].strip().replace("`", "") + " "
                        + cells[3].strip().split(" ")[0]);
            }
        }
        var code = new TreeSet<String>();
        ENDPOINTS.forEach(e -> code.add(e.key() + " " + e.roleLabel()));
        assertThat(documented).isEqualTo(code);
    }

    @Test
    void metrics_cannot_be_reached_without_a_token_by_spelling_the_path_differently() throws Exception {
        for (var path : List.of(
                "/metrics", "/%6detrics", "/metrics;a=b", "/metrics/", "//metrics", "/./metrics", "/x/../metrics")) {
            var reply = send("GET", path, null, null);
            assertThat(reply.status()).as(path).isNotEqualTo(200);
            assertThat(reply.text()).as(path).doesNotContain("bisectbot_");
        }
    }

    @Test
    void a_too_low_role_is_told_which_role_it_needs() throws Exception {
        var reply = send("POST", "/jobs/" + MISSING + "/cancel", null, VIEWER);
        assertThat(reply.status()).isEqualTo(403);
        assertThat(reply.body().get("error").asString()).isEqualTo("needs operator; this token is viewer");
        assertThat(send("GET", "/job/" + MISSING, null, "an-older-viewer-token").status())
                .as("a rotated token")
                .isEqualTo(404);
    }

    private long finishedBisect(String report) {
        return JdbcClient.create(dataSource)
                .sql("""
                        INSERT INTO jobs (kind, status, payload, result, attempt_count, finished_at)
                        VALUES ('bisect', 'SUCCEEDED', '{}'::jsonb, jsonb_build_object('report', :report::text), 1, now())
                        RETURNING id""")
                .param("report", report)
                .query(Long.class)
                .single();
    }

    @Test
    void a_share_link_opens_its_own_job_s_report_and_nothing_else() throws Exception {
        var job = finishedBisect("# First bad commit: deadbeef");
        var other = finishedBisect("# Another report");
        var share = "?share=" + shareLinks.token(job).orElseThrow();

        var report = send("GET", "/job/" + job + "/report" + share, null, null);
        assertThat(report.status()).isEqualTo(200);
        assertThat(report.text()).isEqualTo("# First bad commit: deadbeef");
        assertThat(send("GET", "/job/" + other + "/report" + share, null, null).status())
                .as("another job")
                .isEqualTo(401);
        assertThat(send("GET", "/job/" + job + share, null, null).status())
                .as("the job itself")
                .isEqualTo(401);
        assertThat(send("GET", "/job/" + job + "/logs" + share, null, null).status())
                .as("its logs")
                .isEqualTo(401);
        assertThat(send("GET", "/job/" + job + "/report", null, null).status())
                .as("no link")
                .isEqualTo(401);
        assertThat(send("GET", "/job/" + job + "/chart.svg" + share, null, null).status())
                .as("its chart, which a pass/fail job does not have")
                .isEqualTo(404);
        assertThat(send("GET", "/job/" + other + "/chart.svg" + share, null, null)
                        .status())
                .as("another job's chart")
                .isEqualTo(401);
        assertThat(send("GET", "/job/" + job + "/chart.svg", null, null).status())
                .as("a chart without a link")
                .isEqualTo(401);
    }

    @Test
    void an_expired_or_tampered_share_link_is_refused() throws Exception {
        var job = finishedBisect("# report");
        var signedLongAgo = new ShareLinks(
                        List.of(ShareLinksTest.KEY),
                        Duration.ofDays(30),
                        Clock.offset(Clock.systemUTC(), Duration.ofDays(-31)))
                .token(job)
                .orElseThrow();
        var expired = send("GET", "/job/" + job + "/report?share=" + signedLongAgo, null, null);
        assertThat(expired.status()).isEqualTo(401);
        assertThat(expired.body().get("error").asString()).contains("not valid for this job or has expired");

        var token = shareLinks.token(job).orElseThrow();
        var dot = token.indexOf('.');
        var longer = (Long.parseLong(token.substring(0, dot)) + 365 * 86_400L) + token.substring(dot);
        assertThat(send("GET", "/job/" + job + "/report?share=" + longer, null, null)
                        .status())
                .isEqualTo(401);
        var otherKey = new ShareLinks(List.of(ShareLinksTest.OLD_KEY), Duration.ofDays(30), Clock.systemUTC())
                .token(job)
                .orElseThrow();
        assertThat(send("GET", "/job/" + job + "/report?share=" + otherKey, null, null)
                        .status())
                .isEqualTo(401);
        assertThat(send("GET", "/job/" + job + "/report?share=garbage", null, null)
                        .status())
                .isEqualTo(401);
    }

    @Test
    void a_repo_url_with_a_credential_is_refused_without_echoing_it() throws Exception {
        var body = """
                {"repo":"https://x-access-token:ghs_0123456789secret@github.com/acme/app.git","good":"v1","bad":"main","command":"true"}""";
        var reply = send("POST", "/bisect", body, ADMIN);
        assertThat(reply.status()).isEqualTo(400);
        assertThat(reply.body().get("error").asString())
                .contains("GitHub App installation")
                .doesNotContain("ghs_0123456789secret");
        var asJob = send("POST", "/jobs", "{\"kind\":\"bisect\",\"payload\":" + body + "}", ADMIN);
        assertThat(asJob.status()).isEqualTo(400);
        assertThat(asJob.text()).doesNotContain("ghs_0123456789secret");
    }

    @Test
    void requests_without_a_valid_token_are_rate_limited_per_address_but_tokens_and_webhooks_are_not()
            throws Exception {
        var address = "203.0.113.77";
        for (int i = 0; i < RATE_LIMIT; i++) {
            assertThat(send("GET", "/stats", null, null, address).status()).isEqualTo(401);
        }
        var limited = send("GET", "/stats", null, WRONG, address);
        assertThat(limited.status()).isEqualTo(429);
        assertThat(limited.body().get("status").asInt()).isEqualTo(429);
        assertThat(limited.response()
                        .headers()
                        .firstValue("Retry-After")
                        .map(Long::parseLong)
                        .orElseThrow())
                .isPositive();
        assertThat(send("GET", "/stats", null, VIEWER, address).status())
                .as("with a token")
                .isEqualTo(200);
        assertThat(send("POST", "/webhooks/github", "{}", null, address).status())
                .as("the webhook")
                .isEqualTo(401);
        assertThat(send("GET", "/health", null, null, address).status())
                .as("health probes")
                .isEqualTo(200);
        assertThat(send("GET", "/stats", null, null, "203.0.113.78").status())
                .as("another address")
                .isEqualTo(401);
    }
}
