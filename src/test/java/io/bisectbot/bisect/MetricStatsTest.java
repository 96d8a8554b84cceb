package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.bisectbot.bisect.MetricOptions.Direction;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Reference values from R's wilcox.test and SciPy's mannwhitneyu, quantiles from R's quantile (type 7). */
class MetricStatsTest {

    private static final MetricOptions DEFAULTS = MetricOptions.defaults();

    @Test
    void a_fully_separated_five_against_five_has_the_exact_one_sided_p_of_one_in_252() {
        var p = MetricStats.pWorse(
                List.of(6.0, 7.0, 8.0, 9.0, 10.0), List.of(1.0, 2.0, 3.0, 4.0, 5.0), Direction.LOWER_IS_BETTER);
        assertThat(p).isCloseTo(1.0 / 252, within(1e-12));
    }

    @Test
    void the_exact_p_value_matches_r_on_its_wilcox_test_example() {
        // wilcox.test(x, y, alternative = "greater"): W = 35, p-value = 0.1272
        var x = List.of(0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46);
        var y = List.of(1.15, 0.88, 0.90, 0.74, 1.21);
        assertThat(MetricStats.pWorse(x, y, Direction.LOWER_IS_BETTER)).isCloseTo(0.1272061272061272, within(1e-12));
    }

    @Test
    void tied_values_use_the_normal_approximation_with_tie_and_continuity_correction() {
        // scipy.stats.mannwhitneyu(x, y, alternative='less', method='asymptotic', use_continuity=True)
        var x = List.of(1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0);
        var y = List.of(3.0, 4.0, 4.0, 5.0, 5.0, 5.0, 6.0, 6.0);
        assertThat(MetricStats.pWorse(x, y, Direction.HIGHER_IS_BETTER))
                .isCloseTo(0.0023388674905236288, within(1e-12));
    }

    @Test
    void quartiles_interpolate_between_order_statistics() {
        var s = MetricStats.summary(List.of(10.0, 1.0, 3.0, 2.0, 4.0));
        assertThat(s).isEqualTo(new MetricStats.Summary(5, 3.0, 2.0, 4.0, 1.0, 10.0));
        assertThat(MetricStats.summary(List.of(1.0, 2.0, 3.0, 4.0)).median()).isEqualTo(2.5);
    }

    @Test
    void a_thirty_percent_slower_sample_that_separates_is_bad() {
        var base = List.of(1.00, 0.95, 1.05, 0.98, 1.02);
        var slow = List.of(1.30, 1.25, 1.36, 1.28, 1.33);
        var c = MetricStats.compare(slow, base, DEFAULTS);
        assertThat(c.verdict()).isEqualTo(Verdict.BAD);
        assertThat(c.change()).isCloseTo(0.30, within(1e-9));
        assertThat(c.pValue()).isLessThan(0.05);
    }

    @Test
    void faster_is_good_when_lower_is_better_and_bad_when_higher_is_better() {
        var base = List.of(1.00, 0.95, 1.05, 0.98, 1.02);
        var fast = List.of(0.70, 0.65, 0.75, 0.68, 0.72);
        assertThat(MetricStats.compare(fast, base, DEFAULTS).verdict()).isEqualTo(Verdict.GOOD);
        var higher = new MetricOptions(MetricOptions.Source.STDOUT, Direction.HIGHER_IS_BETTER, 5, 20, 0.1, 0.05);
        var c = MetricStats.compare(fast, base, higher);
        assertThat(c.verdict()).isEqualTo(Verdict.BAD);
        assertThat(c.change()).isCloseTo(0.30, within(1e-9));
    }

    @Test
    void a_large_change_that_is_not_significant_is_inconclusive() {
        var base = List.of(1.0, 2.0, 3.0, 4.0, 5.0);
        var noisy = List.of(0.5, 1.0, 4.0, 6.0, 9.0);
        var c = MetricStats.compare(noisy, base, DEFAULTS);
        assertThat(c.change()).isGreaterThan(0.10);
        assertThat(c.pValue()).isGreaterThan(0.05);
        assertThat(c.verdict()).isNull();
    }

    @Test
    void noise_alone_is_good() {
        var base = List.of(1.00, 0.95, 1.05, 0.98, 1.02);
        var same = List.of(1.01, 0.97, 1.04, 0.99, 1.00);
        assertThat(MetricStats.compare(same, base, DEFAULTS).verdict()).isEqualTo(Verdict.GOOD);
    }

    @Test
    void a_zero_baseline_makes_any_worse_median_an_infinite_change() {
        assertThat(MetricStats.change(List.of(1.0), List.of(0.0), Direction.LOWER_IS_BETTER))
                .isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(MetricStats.change(List.of(0.0), List.of(0.0), Direction.LOWER_IS_BETTER))
                .isZero();
    }

    @Test
    void the_chart_escapes_commit_text_so_a_subject_cannot_add_markup() {
        var commit =
                new CommitInfo("a".repeat(40), List.of(), "<script>alert('x')</script> & \"q\"\u0001", "Dev", null);
        var sample = new MetricSummary.CommitSample(
                commit, "good", List.of(1.0, 2.0), 1.5, 1.25, 1.75, 1.0, 2.0, null, null, null);
        var svg = MetricChart.svg(new MetricSummary(DEFAULTS, List.of(sample), null, null));
        assertThat(svg)
                .doesNotContain("<script")
                .doesNotContain("\u0001")
                .contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;q&quot;");
    }
}
