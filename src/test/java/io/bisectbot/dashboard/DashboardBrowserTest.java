package io.bisectbot.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.FinishedBisect;
import io.bisectbot.TestDatabase;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The dashboard in a real browser (Debian's headless chromium through chromedriver) against the real service on a
 * real PostgreSQL. Without the browser this fails: {@code .ci/run} installs it.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class DashboardBrowserTest {

    static final String ADMIN = "admin-token-of-the-dashboard-test";
    static final String OPERATOR = "operator-token-of-the-dashboard-test";
    static final String VIEWER = "viewer-token-of-the-dashboard-test";
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SCREENSHOTS = Path.of("target/dashboard-screenshots");
    static final Duration WAIT = Duration.ofSeconds(15);

    private static final JsonMapper json = JsonMapper.builder().build();
    private static ChromeDriver driver;
    private static Path profile;
    private final HttpClient http = HttpClient.newHttpClient();

    @LocalServerPort
    int port;

    @Autowired
    DataSource dataSource;

    @DynamicPropertySource
    static void settings(DynamicPropertyRegistry registry) {
        TestDatabase.register(registry);
        registry.add("bisectbot.web.admin-token", () -> ADMIN);
        registry.add("bisectbot.web.operator-token", () -> OPERATOR);
        registry.add("bisectbot.web.viewer-token", () -> VIEWER);
        registry.add("bisectbot.dashboard.session-keys", () -> SessionCookiesTest.KEY);
    }

    @BeforeAll
    static void browser() throws IOException {
        // A missing browser is a failure, never a skip (CI=true or not): the test's real part is absent.
        assertThat(CHROMIUM)
                .as("chromium is installed (apt-get install chromium chromium-driver; .ci/run does it)")
                .isExecutable();
        assertThat(CHROMEDRIVER)
                .as("chromedriver is installed (apt-get install chromium-driver)")
                .isExecutable();
        profile = Files.createTempDirectory("dashboard-test-profile");
        var options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments(
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--user-data-dir=" + profile);
        var service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        driver = new ChromeDriver(service, options);
        Files.createDirectories(SCREENSHOTS);
    }

    @AfterAll
    static void closeBrowser() throws IOException {
        if (driver != null) {
            driver.quit();
        }
        if (profile != null) {
            try (var files = Files.walk(profile)) {
                files.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            }
        }
    }

    @BeforeEach
    void loggedOut() {
        driver.get(url("/dashboard/login"));
        driver.manage().deleteAllCookies();
    }

    String url(String path) {
        return "http://localhost:" + port + path;
    }

    /** Pages redraw live, so an element found a moment ago may be replaced: such a look is simply tried again. */
    WebDriverWait waiting() {
        var wait = new WebDriverWait(driver, WAIT);
        wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
        return wait;
    }

    void login(String token) {
        driver.manage().deleteAllCookies();
        driver.get(url("/dashboard"));
        waiting().until(ExpectedConditions.urlContains("/dashboard/login"));
        driver.findElement(By.id("token")).sendKeys(token);
        driver.findElement(By.cssSelector("button[type=submit]")).click();
        // The counts are drawn after the first answer of /stats, a moment after the page.
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#counts .count")));
    }

    void screenshot(String name) throws IOException {
        var file = driver.getScreenshotAs(OutputType.FILE);
        Files.copy(file.toPath(), SCREENSHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
    }

    JsonNode api(String method, String path, String body, String token) throws Exception {
        var request = HttpRequest.newBuilder(URI.create(url(path)))
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + token)
                .build();
        var response = http.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode())
                .as(method + " " + path + ": " + response.body())
                .isBetween(200, 299);
        return json.readTree(response.body());
    }

    /** A request made with the browser's session cookie, as a page on another site could make the browser send it. */
    HttpResponse<String> withSession(String method, String path, String csrf) throws Exception {
        var cookie = driver.manage().getCookieNamed(SessionCookies.COOKIE);
        assertThat(cookie).as("the browser holds a session cookie").isNotNull();
        var request = HttpRequest.newBuilder(URI.create(url(path)))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .header("Cookie", cookie.getName() + "=" + cookie.getValue());
        if (csrf != null) {
            request.header(SessionCookies.CSRF_HEADER, csrf);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    String csrfOfTheBrowserSession() throws Exception {
        var reply = withSession("GET", "/dashboard/session", null);
        assertThat(reply.statusCode()).isEqualTo(200);
        return json.readTree(reply.body()).get("csrf_token").asString();
    }

    JdbcClient jdbc() {
        return JdbcClient.create(dataSource);
    }

    long failedJob(String payload) {
        return failedJob(payload, "exit code 2: make test failed");
    }

    long failedJob(String payload, String error) {
        return jdbc().sql("""
                        INSERT INTO jobs (kind, status, payload, attempt_count, max_attempts, last_error, started_at, finished_at)
                        VALUES ('noop', 'FAILED', CAST(:payload AS jsonb), 3, 3, :error, now() - interval '3 minutes',
                                now() - interval '2 minutes')
                        RETURNING id""")
                .param("payload", payload)
                .param("error", error)
                .query(Long.class)
                .single();
    }

    long runningSleep() throws Exception {
        var id = api("POST", "/jobs", "{\"kind\":\"sleep\",\"payload\":{\"seconds\":60}}", ADMIN)
                .get("id")
                .asLong();
        await().atMost(WAIT).until(() -> status(id).equals("RUNNING"));
        return id;
    }

    String status(long id) {
        return jdbc().sql("SELECT status FROM jobs WHERE id = :id")
                .param("id", id)
                .query(String.class)
                .single();
    }

    void log(long job, String step, int seq, String stream, String content) {
        jdbc().sql("""
                        INSERT INTO step_logs (job_id, step, seq, attempt, stream, content, at)
                        VALUES (:job, :step, :seq, 1, :stream, :content, :at)""")
                .param("job", job)
                .param("step", step)
                .param("seq", seq)
                .param("stream", stream)
                .param("content", content)
                .param("at", Timestamp.from(Instant.now()))
                .update();
    }

    @Test
    void an_operator_logs_in_and_sees_new_jobs_appear_without_reloading() throws Exception {
        login(OPERATOR);
        assertThat(driver.findElement(By.id("who")).getText()).isEqualTo("Signed in as operator");
        long before = waiting()
                .until(d -> Long.parseLong(d.findElement(By.cssSelector("[data-count=succeeded] .n"))
                        .getText()));
        var id = api("POST", "/jobs", "{\"kind\":\"noop\"}", ADMIN).get("id").asLong();
        waiting()
                .until(d -> Long.parseLong(d.findElement(By.cssSelector("[data-count=succeeded] .n"))
                                .getText())
                        > before);
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#instances tbody tr")));
        screenshot("overview");

        driver.get(url("/dashboard/jobs"));
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr[data-job='" + id + "']")));
        var later = api(
                        "POST",
                        "/jobs",
                        "{\"kind\":\"noop\",\"run_at\":\"" + Instant.now().plusSeconds(3600) + "\"}",
                        ADMIN)
                .get("id")
                .asLong();
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr[data-job='" + later + "']")));
        assertThat(driver.findElement(By.cssSelector("tr[data-job='" + later + "'] .badge"))
                        .getText())
                .isEqualTo("pending");
        var created = driver.findElement(By.cssSelector("tr[data-job='" + later + "'] time"));
        assertThat(created.getAttribute("title")).as("the exact time on hover").contains("Z");
    }

    @Test
    void the_list_filters_by_status_and_searches_payload_fields_in_a_shareable_url() throws Exception {
        var acme = failedJob(
                "{\"github\":{\"installation_id\":1,\"owner\":\"acme\",\"repo\":\"app\",\"issue_number\":42,\"head_sha\":\"abc123def\"}}");
        var other = failedJob(
                "{\"github\":{\"installation_id\":1,\"owner\":\"other\",\"repo\":\"lib\",\"issue_number\":7}}");
        var succeeded =
                api("POST", "/jobs", "{\"kind\":\"noop\"}", ADMIN).get("id").asLong();
        await().atMost(WAIT).until(() -> status(succeeded).equals("SUCCEEDED"));
        login(OPERATOR);
        driver.get(url("/dashboard/jobs"));
        waiting()
                .until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr[data-job='" + succeeded + "']")));

        new Select(driver.findElement(By.id("f-status"))).selectByValue("FAILED");
        waiting().until(ExpectedConditions.urlContains("status=FAILED"));
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr[data-job='" + acme + "']")));
        assertThat(driver.findElements(By.cssSelector("tr[data-job='" + succeeded + "']")))
                .isEmpty();
        assertThat(driver.findElements(By.cssSelector("#job-list tbody .badge")))
                .extracting(WebElement::getText)
                .containsOnly("failed");

        var search = driver.findElement(By.id("f-q"));
        search.sendKeys("repo:acme/app pr:42 sha:abc123");
        search.submit();
        waiting().until(ExpectedConditions.urlContains("q=repo"));
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr[data-job='" + acme + "']")));
        assertThat(driver.findElements(By.cssSelector("tr[data-job='" + other + "']")))
                .isEmpty();
        assertThat(driver.findElement(By.cssSelector("tr[data-job='" + acme + "']"))
                        .getText())
                .contains("acme/app #42");
        screenshot("jobs");

        // The URL alone opens the same list.
        var shared = driver.getCurrentUrl();
        driver.get(url("/dashboard"));
        driver.get(shared);
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr[data-job='" + acme + "']")));
        assertThat(driver.findElement(By.id("f-q")).getAttribute("value")).isEqualTo("repo:acme/app pr:42 sha:abc123");
        assertThat(driver.findElements(By.cssSelector("#job-list tbody tr"))).hasSize(1);
    }

    @Test
    void a_running_step_s_log_is_followed_until_its_job_ends() throws Exception {
        var id = runningSleep();
        log(id, "build", 0, "STDOUT", "Compiling 12 files\n");
        login(OPERATOR);
        driver.get(url("/dashboard/jobs/" + id));
        waiting()
                .until(ExpectedConditions.presenceOfElementLocated(By.linkText("build")))
                .click();
        waiting().until(ExpectedConditions.urlContains("/logs/build"));
        waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("log"), "Compiling 12 files"));
        assertThat(driver.findElement(By.id("log-state")).getText()).isEqualTo("following");

        log(id, "build", 1, "STDOUT", "\u001b[32mPASS\u001b[0m test_parser\n");
        log(id, "build", 2, "STDERR", "warning: deprecated API\n");
        waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("log"), "PASS test_parser"));
        assertThat(driver.findElement(By.cssSelector("#log .a-green")).getText())
                .isEqualTo("PASS");
        assertThat(driver.findElement(By.id("log")).getText()).doesNotContain("[32m");
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#log .st-stderr")));
        screenshot("log");

        api("POST", "/jobs/" + id + "/cancel", null, OPERATOR);
        waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("log-state"), "ended"));
        assertThat(driver.findElement(By.id("log-state")).getText()).isEqualTo("ended · job cancelled");
    }

    @Test
    void an_operator_retries_a_failed_job_and_cancels_a_running_one() throws Exception {
        var failed = failedJob(
                "{\"github\":{\"installation_id\":1,\"owner\":\"acme\",\"repo\":\"app\",\"issue_number\":42},"
                        + "\"api_token\":\"ghs_do-not-show-this\",\"repo\":\"https://x:hunter2@example.com/acme/app.git\"}");
        login(OPERATOR);
        driver.get(url("/dashboard/jobs/" + failed));
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.id("retry")));
        assertThat(driver.findElement(By.id("payload")).getText())
                .contains("acme")
                .doesNotContain("ghs_do-not-show-this")
                .doesNotContain("hunter2");
        assertThat(driver.findElement(By.id("last-error")).getText()).isEqualTo("exit code 2: make test failed");
        assertThat(driver.findElement(By.linkText("acme/app #42")).getAttribute("href"))
                .isEqualTo("https://github.com/acme/app/issues/42");
        screenshot("job");
        driver.findElement(By.id("retry")).click();
        waiting().until(d -> !d.getCurrentUrl().endsWith("/dashboard/jobs/" + failed));
        var retry = Long.parseLong(driver.getCurrentUrl().replaceAll(".*/", ""));
        assertThat(jdbc().sql("SELECT retry_of FROM jobs WHERE id = :id")
                        .param("id", retry)
                        .query(Long.class)
                        .single())
                .isEqualTo(failed);
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.linkText("#" + failed)));

        var running = runningSleep();
        driver.get(url("/dashboard/jobs/" + running));
        waiting()
                .until(ExpectedConditions.elementToBeClickable(By.id("cancel")))
                .click();
        waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector("h1 .badge"), "cancelled"));
        assertThat(status(running)).isEqualTo("CANCELLED");
        assertThat(driver.findElements(By.cssSelector("#timeline li")))
                .extracting(e -> e.getAttribute("data-type"))
                .contains("claimed", "cancel_requested", "cancelled");
        assertThat(driver.findElement(By.cssSelector("#timeline li[data-type=cancel_requested] .actor"))
                        .getText())
                .as("who asked")
                .startsWith("· by operator session ");
    }

    @Test
    void an_operator_bulk_retries_everything_a_filter_matches_after_a_confirmation_that_states_the_count()
            throws Exception {
        var marker = "bulk-" + System.nanoTime();
        var error = "exit code 2: make test failed in " + marker;
        var failed = List.of(failedJob("{}", error), failedJob("{}", error), failedJob("{}", error));
        login(OPERATOR);
        driver.get(url("/dashboard/jobs?status=FAILED&q=" + marker));
        waiting()
                .until(ExpectedConditions.presenceOfElementLocated(
                        By.cssSelector("tr[data-job='" + failed.getFirst() + "']")));
        driver.findElement(By.id("retry-matching")).click();
        var dialog = waiting().until(ExpectedConditions.visibilityOfElementLocated(By.id("confirm")));
        assertThat(dialog.findElement(By.id("confirm-q")).getText()).isEqualTo("Retry 3 jobs?");
        assertThat(dialog.findElement(By.id("confirm-detail")).getText()).isEqualTo("3 jobs match this filter.");
        screenshot("bulk-confirm");
        driver.findElement(By.id("confirm-no")).click();
        assertThat(jdbc().sql("SELECT count(*) FROM jobs WHERE retry_of IN (:ids)")
                        .param("ids", failed)
                        .query(Long.class)
                        .single())
                .as("going back retries nothing")
                .isZero();

        driver.findElement(By.id("retry-matching")).click();
        waiting()
                .until(ExpectedConditions.elementToBeClickable(By.id("confirm-yes")))
                .click();
        waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("toast"), "Retried 3 jobs."));
        assertThat(jdbc().sql("SELECT count(*) FROM jobs WHERE retry_of IN (:ids)")
                        .param("ids", failed)
                        .query(Long.class)
                        .single())
                .isEqualTo(3);

        // The history of each says who did it.
        driver.get(url("/dashboard/jobs/" + failed.getFirst()));
        var retried = waiting()
                .until(ExpectedConditions.presenceOfElementLocated(
                        By.cssSelector("#timeline li[data-type=retried] .actor")));
        assertThat(retried.getText()).matches("· by operator session [0-9a-f]{8}");
    }

    @Test
    void an_operator_cancels_the_selected_jobs_and_only_those() throws Exception {
        var later = Instant.now().plusSeconds(3600);
        var picked = api("POST", "/jobs", "{\"kind\":\"noop\",\"run_at\":\"" + later + "\"}", ADMIN)
                .get("id")
                .asLong();
        var alsoPicked = api("POST", "/jobs", "{\"kind\":\"noop\",\"run_at\":\"" + later + "\"}", ADMIN)
                .get("id")
                .asLong();
        var left = api("POST", "/jobs", "{\"kind\":\"noop\",\"run_at\":\"" + later + "\"}", ADMIN)
                .get("id")
                .asLong();
        login(OPERATOR);
        driver.get(url("/dashboard/jobs?status=PENDING"));
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr[data-job='" + left + "']")));
        assertThat(driver.findElement(By.id("cancel-selected")).isEnabled())
                .as("nothing selected yet")
                .isFalse();
        driver.findElement(By.cssSelector("tr[data-job='" + picked + "'] input.pick"))
                .click();
        driver.findElement(By.cssSelector("tr[data-job='" + alsoPicked + "'] input.pick"))
                .click();
        // The list refreshes live; the ticks stay.
        Thread.sleep(2000);
        assertThat(driver.findElement(By.cssSelector("tr[data-job='" + picked + "'] input.pick"))
                        .isSelected())
                .isTrue();
        assertThat(driver.findElement(By.id("selected-count")).getText()).isEqualTo("2 jobs selected");
        driver.findElement(By.id("cancel-selected")).click();
        var dialog = waiting().until(ExpectedConditions.visibilityOfElementLocated(By.id("confirm")));
        assertThat(dialog.findElement(By.id("confirm-q")).getText()).isEqualTo("Cancel 2 jobs?");
        driver.findElement(By.id("confirm-yes")).click();
        waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("toast"), "Cancelled 2 jobs."));
        assertThat(List.of(status(picked), status(alsoPicked), status(left)))
                .containsExactly("CANCELLED", "CANCELLED", "PENDING");
    }

    @Test
    void a_finished_bisect_job_shows_the_culprit_the_rounds_narrowing_the_range_and_its_report_without_its_markup()
            throws Exception {
        var job = FinishedBisect.insert(jdbc());
        login(VIEWER);
        driver.get(url("/dashboard/jobs/" + job.id()));
        var sha = waiting().until(ExpectedConditions.presenceOfElementLocated(By.id("culprit-sha")));
        assertThat(sha.getText()).isEqualTo(job.culprit());
        assertThat(driver.findElement(By.id("culprit-subject")).getText()).isEqualTo(FinishedBisect.CULPRIT_SUBJECT);
        assertThat(driver.findElements(By.cssSelector("#culprit-links a")))
                .extracting(a -> a.getAttribute("href"))
                .contains(
                        "https://github.com/acme/widget/commit/" + job.culprit(),
                        url("/dashboard/jobs/" + job.id() + "/logs/search-"
                                + job.culprit().substring(0, 12) + "-run2"),
                        url("/job/" + job.id() + "/report"));

        // The range as it narrowed: the ends, then 8, 4 and 2 commits left, each round's commit coloured by its
        // verdict.
        assertThat(driver.findElements(By.cssSelector("#rounds li")))
                .extracting(e -> e.getAttribute("data-round"))
                .containsExactly("0", "1", "2", "3");
        assertThat(driver.findElement(By.cssSelector("#rounds li[data-round='1'] .n"))
                        .getText())
                .isEqualTo("8 commits left");
        assertThat(driver.findElement(By.cssSelector("#rounds li[data-round='3'] .n"))
                        .getText())
                .isEqualTo("2 commits left");
        var culpritChip = driver.findElement(By.cssSelector("#rounds li[data-round='2'] .chip"));
        assertThat(culpritChip.getAttribute("data-verdict")).isEqualTo("bad");
        assertThat(culpritChip.getText()).isEqualTo(job.culprit().substring(0, 10) + " 1✓ 1✗");
        // A flaky test's repeats: how many runs of each commit passed and failed.
        assertThat(driver.findElement(By.cssSelector("tr[data-commit='" + job.culprit() + "'] .passes"))
                        .getText())
                .isEqualTo("1");
        assertThat(driver.findElement(By.cssSelector("tr[data-commit='" + job.culprit() + "'] .failures"))
                        .getText())
                .isEqualTo("1");
        assertThat(driver.findElements(By.cssSelector("tr[data-seq]"))).hasSize(12);

        // The report as a page: headings, a table and links, and the markup in it only as text.
        var report = driver.findElement(By.id("report"));
        assertThat(report.findElement(By.cssSelector(".report-body h2")).getText())
                .startsWith("First bad commit:")
                .endsWith("Parse <b>headers</b> lazily");
        assertThat(report.getText())
                .contains("<script>document.title = 'owned'</script>")
                .contains("<img src=x onerror=alert(1)>");
        assertThat(report.findElements(By.cssSelector("script, img, b, [onerror]")))
                .isEmpty();
        assertThat(report.findElements(By.cssSelector("a[href]")))
                .extracting(a -> a.getAttribute("href"))
                .containsExactly("https://github.com/acme/widget/commit/" + job.culprit());
        assertThat(report.findElement(By.cssSelector("details summary")).getText())
                .isEqualTo("Steps (12 runs)");
        assertThat(driver.getTitle()).isEqualTo("Job #" + job.id() + " · bisectbot");

        driver.manage().window().setSize(new org.openqa.selenium.Dimension(1280, 1700));
        try {
            screenshot("bisect");
        } finally {
            driver.manage().window().setSize(new org.openqa.selenium.Dimension(1280, 900));
        }
    }

    @Test
    void a_pending_job_s_page_says_why_it_is_not_running() throws Exception {
        var later = api(
                        "POST",
                        "/jobs",
                        "{\"kind\":\"noop\",\"run_at\":\"" + Instant.now().plusSeconds(600) + "\"}",
                        ADMIN)
                .get("id")
                .asLong();
        login(VIEWER);
        driver.get(url("/dashboard/jobs/" + later));
        var reason = waiting()
                .until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#waiting li[data-code=not_due]")));
        assertThat(reason.getText()).matches("due in (59\\d|600) s, as it was scheduled");
        screenshot("job-pending");
    }

    @Test
    void the_overview_draws_jobs_per_minute_and_queue_depth_for_1h_24h_and_7d() throws Exception {
        jdbc().sql("""
                        INSERT INTO job_minutes (minute, enqueued, succeeded, failed, pending, running)
                        SELECT date_trunc('minute', now()) - make_interval(mins => m), 20 + m % 7, 18 + m % 5, m % 3, 5 + m % 11, 2
                          FROM generate_series(1, 7 * 24 * 60, 7) AS m
                        ON CONFLICT (minute) DO NOTHING""").update();
        login(OPERATOR);
        var enqueued = waiting()
                .until(ExpectedConditions.presenceOfElementLocated(
                        By.cssSelector("#chart-flow polyline[data-series=enqueued]")));
        assertThat(enqueued.getAttribute("points").split(" ").length)
                .as("a point a minute")
                .isGreaterThan(5);
        assertThat(driver.findElement(By.cssSelector("#chart-depth")).getAttribute("aria-label"))
                .startsWith("Queue depth: pending at most");
        assertThat(driver.findElement(By.cssSelector("#over-time button[data-range='1h']"))
                        .getAttribute("aria-pressed"))
                .isEqualTo("true");
        driver.findElement(By.cssSelector("#over-time button[data-range='7d']")).click();
        waiting()
                .until(ExpectedConditions.textToBePresentInElementLocated(
                        By.cssSelector("#charts figcaption"), "Jobs per hour"));
        assertThat(driver.findElement(By.cssSelector("#chart-flow polyline[data-series=enqueued]"))
                        .getAttribute("points")
                        .split(" ")
                        .length)
                .isGreaterThan(160);
        screenshot("overview-7d");
    }

    @Test
    void the_dead_letters_page_lists_what_failed_for_good_and_puts_it_back_in_line() throws Exception {
        var job = failedJob("{}");
        var outbox = jdbc().sql("""
                        INSERT INTO github_outbox (idempotency_key, installation_id, action, request, status, attempts, next_attempt_at,
                                                   last_error, created_at, done_at)
                        VALUES ('comment:dead-letter-test', 42, 'create_comment', '{}', 'DEAD', 8, now(),
                                'HTTP 422: Validation Failed', now() - interval '1 hour', now() - interval '5 minutes')
                        RETURNING id""").query(Long.class).single();
        var event = jdbc().sql("""
                        INSERT INTO callback_events (job_id, url, type, status, attempts, next_attempt_at, last_error, created_at, done_at)
                        VALUES (:job, 'https://user:pw@hooks.example.com/ci?token=s3cret', 'failed', 'DEAD', 5, now(),
                                'HTTP 503', now() - interval '1 hour', now() - interval '2 minutes')
                        RETURNING id""").param("job", job).query(Long.class).single();
        jdbc().sql("""
                        INSERT INTO callback_attempts (event_row, at, status_code, error, duration_ms)
                        VALUES (:event, now() - interval '3 minutes', 503, 'HTTP 503', 120), (:event, now() - interval '2 minutes', NULL, 'connect timed out', 5000)""").param("event", event).update();
        login(OPERATOR);
        driver.get(url("/dashboard/dead-letters"));
        var row = waiting()
                .until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr[data-outbox='" + outbox + "']")));
        assertThat(row.getText()).contains("create_comment").contains("HTTP 422: Validation Failed");
        var callback = driver.findElement(By.cssSelector("tr[data-callback='" + event + "']"));
        assertThat(callback.getText())
                .contains("https://hooks.example.com/ci")
                .doesNotContain("s3cret")
                .doesNotContain("pw@");
        screenshot("dead-letters");

        driver.findElement(By.id("retry-outbox-" + outbox)).click();
        waiting()
                .until(ExpectedConditions.invisibilityOfElementLocated(
                        By.cssSelector("tr[data-outbox='" + outbox + "']")));
        assertThat(jdbc().sql("SELECT status FROM github_outbox WHERE id = :id")
                        .param("id", outbox)
                        .query(String.class)
                        .single())
                .isNotEqualTo("DEAD");

        // The job's page shows its callback and every attempt.
        driver.get(url("/dashboard/jobs/" + job));
        var attempts =
                waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#callbacks ol.attempts")));
        assertThat(attempts.findElements(By.tagName("li")))
                .extracting(WebElement::getText)
                .anySatisfy(t -> assertThat(t).contains("HTTP 503"))
                .anySatisfy(t -> assertThat(t).contains("no answer").contains("connect timed out"));
        assertThat(driver.findElement(By.id("callbacks")).getText())
                .doesNotContain("s3cret")
                .doesNotContain(":pw@");
    }

    @Test
    void an_action_made_with_the_session_but_without_its_csrf_token_is_refused() throws Exception {
        var later = api(
                        "POST",
                        "/jobs",
                        "{\"kind\":\"noop\",\"run_at\":\"" + Instant.now().plusSeconds(3600) + "\"}",
                        ADMIN)
                .get("id")
                .asLong();
        login(OPERATOR);

        var without = withSession("POST", "/jobs/" + later + "/cancel", null);
        assertThat(without.statusCode()).isEqualTo(403);
        assertThat(json.readTree(without.body()).get("error").asString()).contains("X-CSRF-Token");
        var wrong = withSession("POST", "/jobs/" + later + "/cancel", "not-the-token");
        assertThat(wrong.statusCode()).isEqualTo(403);
        assertThat(status(later)).isEqualTo("PENDING");

        var allowed = withSession("POST", "/jobs/" + later + "/cancel", csrfOfTheBrowserSession());
        assertThat(allowed.statusCode()).isEqualTo(200);
        assertThat(status(later)).isEqualTo("CANCELLED");
    }

    @Test
    void a_viewer_sees_everything_but_cannot_act() throws Exception {
        var failed = failedJob("{}");
        login(VIEWER);
        driver.get(url("/dashboard/jobs/" + failed));
        waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector(".actions"), "Read only"));
        assertThat(driver.findElements(By.id("retry"))).isEmpty();

        var refused = withSession("POST", "/jobs/" + failed + "/retry", csrfOfTheBrowserSession());
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(json.readTree(refused.body()).get("error").asString())
                .isEqualTo("needs operator; this token is viewer");
        assertThat(jdbc().sql("SELECT count(*) FROM jobs WHERE retry_of = :id")
                        .param("id", failed)
                        .query(Long.class)
                        .single())
                .isZero();
    }

    @Test
    void a_wrong_token_is_told_so_and_logging_out_ends_the_session() throws Exception {
        driver.get(url("/dashboard/jobs?status=FAILED"));
        waiting().until(ExpectedConditions.urlContains("/dashboard/login"));
        driver.findElement(By.id("token")).sendKeys("not-a-token-of-this-instance");
        driver.findElement(By.cssSelector("button[type=submit]")).click();
        waiting()
                .until(ExpectedConditions.textToBePresentInElementLocated(
                        By.id("login-error"), "not one of this instance"));
        screenshot("login");
        driver.findElement(By.id("token")).sendKeys(VIEWER);
        driver.findElement(By.cssSelector("button[type=submit]")).click();
        waiting().until(ExpectedConditions.urlContains("/dashboard/jobs?status=FAILED"));
        var cookie = driver.manage().getCookieNamed(SessionCookies.COOKIE);
        assertThat(cookie.isHttpOnly()).isTrue();
        assertThat(cookie.getSameSite()).isEqualTo("Strict");

        waiting()
                .until(ExpectedConditions.elementToBeClickable(By.id("logout")))
                .click();
        waiting().until(ExpectedConditions.urlContains("/dashboard/login"));
        assertThat(driver.manage().getCookieNamed(SessionCookies.COOKIE)).isNull();
    }

    @Test
    void the_overview_follows_the_system_s_dark_mode_and_fits_a_phone() throws Exception {
        login(OPERATOR);
        driver.executeCdpCommand(
                "Emulation.setEmulatedMedia",
                Map.of("features", List.of(Map.of("name", "prefers-color-scheme", "value", "dark"))));
        driver.get(url("/dashboard"));
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#counts .count")));
        var background = driver.findElement(By.tagName("body")).getCssValue("background-color");
        assertThat(background).isEqualTo("rgba(22, 24, 27, 1)");
        screenshot("overview-dark");
        driver.executeCdpCommand(
                "Emulation.setDeviceMetricsOverride",
                Map.of("width", 390, "height", 844, "deviceScaleFactor", 1, "mobile", true));
        driver.get(url("/dashboard/jobs"));
        waiting().until(ExpectedConditions.presenceOfElementLocated(By.id("job-list")));
        var width = ((Number) driver.executeScript("return document.documentElement.scrollWidth")).intValue();
        assertThat(width).as("no sideways scrolling of the page on a phone").isLessThanOrEqualTo(390);
        screenshot("jobs-phone");
        driver.executeCdpCommand("Emulation.clearDeviceMetricsOverride", Map.of());
        driver.executeCdpCommand("Emulation.setEmulatedMedia", Map.of("features", List.of()));
    }
}
