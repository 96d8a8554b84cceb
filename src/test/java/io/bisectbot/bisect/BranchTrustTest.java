package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.TestGit;
import io.bisectbot.executor.StepSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A GitHub-started bisect trusted for its thread may still name, by a bare sha, a commit that only a pull request of a
 * fork brought into the mirror: such a run loses its trust when the job starts.
 */
class BranchTrustTest {

    private static final BisectProperties LIMITS =
            new BisectProperties(Duration.ofMinutes(10), Duration.ofHours(2), 4, 20, true, true);

    @TempDir
    Path repo;

    private List<String> shas;
    private String forkCommit;
    private GitHistory history;

    @BeforeEach
    void history() throws Exception {
        shas = TestRepos.linear(repo, 4, 2, 0);
        TestGit.run(repo, "tag", "v1", shas.get(0));
        // A commit on top of main that only refs/pull/7/head holds, as a fork's pull request does in a mirror.
        TestGit.run(repo, "checkout", "-q", "-b", "fork-work");
        TestGit.run(repo, "commit", "-q", "--allow-empty", "-m", "from a fork");
        forkCommit = TestGit.run(repo, "rev-parse", "HEAD");
        TestGit.run(repo, "update-ref", "refs/pull/7/head", forkCommit);
        TestGit.run(repo, "checkout", "-q", "main");
        TestGit.run(repo, "branch", "-q", "-D", "fork-work");
        history = GitHistory.at(repo.toString(), repo, null);
    }

    private BisectRequest request(String bad, boolean fromGithub) {
        var payload = JsonNodeFactory.instance
                .objectNode()
                .put("repo", repo.toString())
                .put("bad", bad)
                .put("command", "sh test.sh")
                .put("network", "bridge");
        payload.putArray("good").add("v1");
        payload.putArray("cache").add("/root/.m2/repository");
        if (fromGithub) {
            payload.set(
                    "github",
                    ((ObjectNode) JsonNodeFactory.instance.objectNode().put("installation_id", 1))
                            .put("untrusted", false)
                            .put("trust_reason", "the range names refs of the repository"));
        }
        return BisectRequest.parse(payload, LIMITS, "debian:bookworm");
    }

    @Test
    void a_range_of_branches_tags_and_their_commits_keeps_its_trust() {
        for (var bad : List.of("main", shas.get(3), "v1~0")) {
            var request = request(bad, true);
            assertThat(BisectJobHandler.trustedOnlyOnBranches(request, history)).isSameAs(request);
        }
    }

    @Test
    void a_bare_sha_that_only_a_pull_request_holds_makes_the_run_untrusted() {
        var checked = BisectJobHandler.trustedOnlyOnBranches(request(forkCommit, true), history);
        assertThat(checked.registryCredentials()).isFalse();
        assertThat(checked.network()).isEqualTo(StepSpec.Network.NONE);
        assertThat(checked.cacheVolumes())
                .singleElement()
                .isNotEqualTo(request(forkCommit, true).cacheVolumes().getFirst());
        assertThat(BisectReport.environment(checked))
                .contains("the code is not trusted (its range names `" + forkCommit
                        + "`, which is on no branch or tag of the repository)");
    }

    @Test
    void an_end_named_by_its_pull_request_s_ref_keeps_the_trust_the_command_judged() {
        var byRef = request("refs/pull/7/head", true);
        assertThat(BisectJobHandler.trustedOnlyOnBranches(byRef, history)).isSameAs(byRef);
    }

    @Test
    void a_run_not_started_from_github_is_left_as_it_is() {
        var fromApi = request(forkCommit, false);
        assertThat(BisectJobHandler.trustedOnlyOnBranches(fromApi, history)).isSameAs(fromApi);
    }
}
