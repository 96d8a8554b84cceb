package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class BisectReportTest {

    private static BisectResult found(BisectOptions options) {
        InMemoryHistory h = InMemoryHistory.linear(64);
        InProcessRunner runner = InProcessRunner.exitCodes(sha -> InMemoryHistory.index(sha) >= 23 ? 1 : 0);
        return new BisectEngine(h, runner, StepStore.none()).run(h.tip(), List.of(InMemoryHistory.sha(0)), options);
    }

    @Test
    void links_the_culprit_and_the_compare_view_on_github_and_shows_how_to_reproduce() {
        BisectResult r = found(BisectOptions.defaults());
        String md = BisectReport.markdown(r, "https://github.com/acme/widgets.git", "make test");
        String culprit = InMemoryHistory.sha(23);
        assertThat(md)
                .contains("## First bad commit: [`" + culprit.substring(0, 12)
                        + "`](https://github.com/acme/widgets/commit/" + culprit + ")")
                .contains("Commit 23")
                .contains("https://github.com/acme/widgets/compare/" + InMemoryHistory.sha(22) + "..." + culprit)
                .contains("git bisect start " + InMemoryHistory.sha(63) + " " + InMemoryHistory.sha(0)
                        + " && git bisect run make test")
                .contains("63 commits")
                .contains("<details><summary>Steps (" + r.steps().size() + " runs)</summary>")
                .contains("| 1 | ");
    }

    @Test
    void uses_old_and_new_terms_and_plain_ids_for_repositories_outside_github() {
        BisectResult r = found(
                BisectOptions.defaults().withTerms(BisectOptions.Terms.OLD_NEW).withFirstParent(true));
        String md = BisectReport.markdown(r, "https://gitlab.example.com/acme/widgets.git", "./check.sh");
        assertThat(md)
                .contains("## First new commit: `" + InMemoryHistory.sha(23).substring(0, 12) + "`")
                .contains("(old) ..")
                .contains("(new)")
                .contains("git bisect start --term-old=old --term-new=new --first-parent ")
                .doesNotContain("github.com");
    }

    @Test
    void recognises_github_urls_in_their_usual_forms() {
        assertThat(BisectReport.githubWebUrl("git@github.com:acme/widgets.git"))
                .contains("https://github.com/acme/widgets");
        assertThat(BisectReport.githubWebUrl("https://github.com/acme/widgets"))
                .contains("https://github.com/acme/widgets");
        assertThat(BisectReport.githubWebUrl("https://example.com/acme/widgets"))
                .isEmpty();
    }

    @Test
    void lists_every_possible_culprit_when_only_skipped_commits_remain() {
        InMemoryHistory h = InMemoryHistory.linear(20);
        InProcessRunner runner = InProcessRunner.exitCodes(sha -> {
            int i = InMemoryHistory.index(sha);
            return i == 9 ? 125 : i >= 10 ? 1 : 0;
        });
        BisectResult r = new BisectEngine(h, runner, StepStore.none())
                .run(h.tip(), List.of(InMemoryHistory.sha(0)), BisectOptions.defaults());
        String md = BisectReport.markdown(r, "https://github.com/acme/widgets", "make test");
        assertThat(md)
                .contains("There are only 'skip'ped commits left to test. The first bad commit could be any of:")
                .contains("/commit/" + InMemoryHistory.sha(9))
                .contains("/commit/" + InMemoryHistory.sha(10));
    }

    @Test
    void explains_how_to_fix_the_test_when_the_ends_do_not_behave_as_stated() {
        InMemoryHistory h = InMemoryHistory.linear(10);
        BisectResult r = new BisectEngine(h, InProcessRunner.exitCodes(sha -> 0), StepStore.none())
                .run(h.tip(), List.of(InMemoryHistory.sha(0)), BisectOptions.defaults());
        String md = BisectReport.markdown(r, "https://github.com/acme/widgets", "make test");
        assertThat(md)
                .contains("## The given ends do not behave as stated")
                .contains("should be bad but the test says good")
                .contains("The command must exit 0 on the good revision");
    }
}
