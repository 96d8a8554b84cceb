package io.bisectbot.github;

import io.bisectbot.bisect.BisectProperties;
import io.bisectbot.bots.BotProperties;
import io.bisectbot.bots.BotSecrets;
import io.bisectbot.crypto.Encryption;
import io.bisectbot.executor.ExecutorProperties;
import io.bisectbot.executor.ImagePolicy;
import io.bisectbot.loop.Loop;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.QueueNode;
import io.bisectbot.web.ShareLinks;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

/** The GitHub App's parts; those that run loops or handle jobs exist only when the instance serves. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "bisectbot.mode", havingValue = "serve", matchIfMissing = true)
class GithubConfig {

    private static final Logger log = LoggerFactory.getLogger(GithubConfig.class);

    @Bean
    WebhookSignatures webhookSignatures(GithubProperties properties) {
        if (properties.webhookSecrets().isEmpty()) {
            log.warn("GITHUB_WEBHOOK_SECRETS is not set: POST /webhooks/github refuses every delivery");
        }
        return new WebhookSignatures(properties.webhookSecrets());
    }

    @Bean
    Deliveries deliveries(DataSource dataSource, JsonMapper json, Clock clock, Encryption encryption) {
        return new Deliveries(dataSource, json, clock, encryption);
    }

    @Bean(destroyMethod = "close")
    IntakeWriter intakeWriter(Deliveries deliveries, JobQueue queue, Deliveries.PendingJobs pending) {
        // 2,000 waiting deliveries are a few seconds of writes; beyond that requests get 503 at once.
        return new IntakeWriter(deliveries, queue, pending, 2, 2_000);
    }

    @Bean
    Deliveries.PendingJobs pendingJobs(JobQueue queue) {
        return new Deliveries.PendingJobs(queue);
    }

    @Bean
    Loop pendingJobsLoop(Deliveries.PendingJobs pending) {
        return new Loop("pending-jobs-count", Duration.ofSeconds(1), () -> {
            pending.refresh();
            return false;
        });
    }

    @Bean
    Installations installations(DataSource dataSource, Clock clock) {
        return new Installations(dataSource, clock);
    }

    @Bean
    Outbox githubOutbox(DataSource dataSource, JsonMapper json, Clock clock, Encryption encryption) {
        return new Outbox(dataSource, json, clock, encryption);
    }

    @Bean
    GithubReports githubReports(Outbox outbox, Clock clock, GithubProperties properties, ShareLinks shareLinks) {
        return new GithubReports(outbox, clock, properties.publicUrl(), properties.checkName(), shareLinks);
    }

    @Bean
    io.bisectbot.web.JobWrites githubJobWrites(Outbox outbox, GithubProperties properties) {
        return new GithubJobWrites(outbox, properties.apiUrl());
    }

    @Bean
    AppAuth appAuth(GithubProperties properties, Clock clock, JsonMapper json) {
        var auth = new AppAuth(properties.appId(), properties.privateKeyPem(), clock, json);
        if (!auth.configured()) {
            log.warn(
                    "GITHUB_APP_ID or GITHUB_PRIVATE_KEY is not set: webhooks are stored but nothing is written to GitHub");
        }
        return auth;
    }

    @Bean
    io.bisectbot.web.StatsContributor githubOutboxStats(Outbox outbox) {
        return new io.bisectbot.web.StatsContributor() {
            @Override
            public String name() {
                return "github_outbox";
            }

            @Override
            public Object stats() {
                return outbox.stats();
            }
        };
    }

    @Bean
    GithubGitCredentials githubGitCredentials(AppAuth auth) {
        return new GithubGitCredentials(auth);
    }

    @Bean
    GithubBisectListener githubBisectListener(GithubReports reports) {
        return new GithubBisectListener(reports);
    }

    @Bean
    GithubBots githubBots(GithubApi api, GithubReports reports, GithubGitCredentials credentials) {
        return new GithubBots(api, reports, credentials);
    }

    @Bean
    GithubApi githubApi(
            GithubProperties properties,
            AppAuth auth,
            JsonMapper json,
            Clock clock,
            MeterRegistry registry,
            DataSource dataSource) {
        var budget = new RateBudget(
                dataSource,
                properties.writesPerMinute(),
                properties.writesPerHour(),
                properties.maxConcurrentRequests(),
                GithubApi.SLOT_LEASE);
        return new GithubApi(properties, auth, json, clock, registry, budget);
    }

    @Bean
    Permissions githubPermissions(GithubApi api, Clock clock, GithubProperties properties) {
        return new Permissions(api, clock, properties.permissionCacheTtl());
    }

    @Bean
    Approvals headApprovals(DataSource dataSource, Clock clock) {
        return new Approvals(dataSource, clock);
    }

    /** Images a repository's config may name: ALLOWED_IMAGES, or else the service's own default images. */
    @Bean
    ImagePolicy imagePolicy(ExecutorProperties executor, BisectProperties bisect, GithubProperties properties) {
        return ImagePolicy.of(
                executor.allowedImages(),
                executor.defaultImage(),
                properties.withBisectDefaults(executor, bisect).bisectImage());
    }

    @Bean
    DeliveryHandler githubDeliveryHandler(
            Deliveries deliveries,
            Installations installations,
            GithubReports reports,
            GithubApi api,
            ObjectProvider<JobQueue> queue,
            GithubProperties properties,
            DataSource dataSource,
            Permissions permissions,
            Approvals approvals,
            BotSecrets secrets,
            ImagePolicy images,
            Clock clock,
            BisectProperties bisect,
            ExecutorProperties executor,
            BotProperties bots) {
        var settings = properties.withBisectDefaults(executor, bisect);
        var transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
        var configs = new TaskConfigs(api, reports, settings, images, secrets, bots.defaultTimeout());
        var heads = new HeadTrust(permissions, approvals, reports, configs, queue::getObject, transactions);
        return new DeliveryHandler(
                deliveries,
                new InstallationEvents(installations),
                new PullRequestTriggers(
                        installations, permissions, heads, configs, api, reports, queue::getObject, transactions),
                new CommentCommands(
                        installations,
                        new CommandAuthorization(settings, permissions, reports, clock),
                        heads,
                        configs,
                        api,
                        reports,
                        queue::getObject,
                        transactions,
                        settings,
                        images),
                settings,
                clock);
    }

    @Bean
    OutboxDelivery outboxDelivery(
            Outbox outbox, GithubApi api, GithubProperties properties, Clock clock, QueueNode node) {
        // The outbox reschedules a rate-limited row rather than sleeping through the limit with a batch in hand.
        return new OutboxDelivery(outbox, api.rescheduling(), properties, clock, node.workerId());
    }

    @Bean
    Loop githubOutboxLoop(OutboxDelivery delivery, AppAuth auth, GithubProperties properties) {
        return new Loop(
                "github-outbox", properties.outboxPollInterval(), () -> auth.configured() && delivery.deliverDue() > 0);
    }

    @Bean
    DeliveryCatchUp deliveryCatchUp(
            GithubApi api,
            DataSource dataSource,
            GithubProperties properties,
            Clock clock,
            io.micrometer.core.instrument.MeterRegistry registry) {
        return new DeliveryCatchUp(api, dataSource, properties, clock, registry);
    }

    /** At start (the first run) and every interval: ask GitHub again for what it failed to deliver meanwhile. */
    @Bean
    Loop githubCatchUpLoop(DeliveryCatchUp catchUp, AppAuth auth, GithubProperties properties) {
        return new Loop("github-catch-up", properties.catchUpInterval(), () -> {
            if (auth.configured()) {
                catchUp.runOnce();
            }
            return false;
        });
    }

    @Bean
    Loop githubRetentionLoop(Deliveries deliveries, Outbox outbox, Approvals approvals, GithubProperties properties) {
        return new Loop("github-retention", properties.cleanupInterval(), () -> {
            var removed = deliveries.deleteOlderThan(properties.deliveryRetention());
            var delivered = outbox.deleteDoneOlderThan(properties.deliveryRetention());
            approvals.deleteOlderThan(properties.deliveryRetention());
            if (removed + delivered > 0) {
                log.info(
                        "Removed {} webhook deliveries and {} delivered outbox rows older than {}",
                        removed,
                        delivered,
                        properties.deliveryRetention());
            }
            return false;
        });
    }
}
