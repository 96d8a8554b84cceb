package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GitSelectionTest {

    @Test
    void reproduces_gits_pseudo_random_numbers_and_float_square_root() {
        // get_prn(1) = (1103515245 + 12345) / 65536 % 32768; the multiplication wraps at 32 bits.
        assertThat(GitSelection.prn(1)).isEqualTo(16838);
        assertThat(GitSelection.prn(0)).isZero();
        assertThat(GitSelection.prn(7)).isEqualTo(((7L * 1103515245L + 12345L) & 0xFFFFFFFFL) / 65536 % 32768);
        assertThat(GitSelection.sqrti(32768)).isEqualTo(181);
        assertThat(GitSelection.sqrti(16838)).isEqualTo(129);
        assertThat(GitSelection.sqrti(0)).isZero();
    }
}
