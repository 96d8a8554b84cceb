package io.bisectbot.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.web.AccessTokens.Caller;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;

class AccessTokensTest {

    private final AccessTokens tokens = new AccessTokens("admin-old, admin-new", "op-1", "view-1,view-2");

    @Test
    void each_token_resolves_to_its_role_and_every_rotated_token_works() {
        assertThat(tokens.caller("Bearer admin-old").role()).isEqualTo(Role.ADMIN);
        assertThat(tokens.caller("Bearer admin-new").role()).isEqualTo(Role.ADMIN);
        assertThat(tokens.caller("bearer op-1").role()).isEqualTo(Role.OPERATOR);
        assertThat(tokens.caller("Bearer view-2").role()).isEqualTo(Role.VIEWER);
    }

    @Test
    void a_missing_header_is_anonymous_and_anything_else_unknown_is_a_wrong_token() {
        assertThat(tokens.caller(null)).isEqualTo(Caller.ANONYMOUS);
        assertThat(tokens.caller("Bearer admin")).isEqualTo(Caller.WRONG);
        assertThat(tokens.caller("Basic YWRtaW4tb2xkOg==")).isEqualTo(Caller.WRONG);
        assertThat(tokens.caller("Bearer ")).isEqualTo(Caller.WRONG);
    }

    @Test
    void a_token_listed_under_two_roles_gets_the_higher_one() {
        var both = new AccessTokens("shared", null, "shared");
        assertThat(both.caller("Bearer shared").role()).isEqualTo(Role.ADMIN);
    }

    @Test
    void a_higher_role_satisfies_a_lower_requirement_and_a_lower_one_gets_403_naming_both() {
        assertThat(tokens.refusal(tokens.caller("Bearer admin-new"), Role.VIEWER))
                .isEmpty();
        assertThat(tokens.refusal(tokens.caller("Bearer op-1"), Role.OPERATOR)).isEmpty();
        var refusal =
                tokens.refusal(tokens.caller("Bearer view-1"), Role.OPERATOR).orElseThrow();
        assertThat(refusal.status()).isEqualTo(HttpStatus.FORBIDDEN);
        assertThat(refusal.message()).isEqualTo("needs operator; this token is viewer");
    }

    @Test
    void no_token_or_a_wrong_one_is_401() {
        assertThat(tokens.refusal(Caller.ANONYMOUS, Role.VIEWER).orElseThrow().status())
                .isEqualTo(HttpStatus.UNAUTHORIZED);
        var wrong = tokens.refusal(Caller.WRONG, Role.ADMIN).orElseThrow();
        assertThat(wrong.status()).isEqualTo(HttpStatus.UNAUTHORIZED);
        assertThat(wrong.message())
                .contains("not one of this instance's tokens")
                .doesNotContain("admin-new");
    }

    @Test
    void without_any_token_of_a_sufficient_role_the_endpoints_are_disabled_and_the_error_names_the_variables() {
        var viewersOnly = new AccessTokens("", null, "v");
        var refusal = viewersOnly
                .refusal(viewersOnly.caller("Bearer v"), Role.OPERATOR)
                .orElseThrow();
        assertThat(refusal.status()).isEqualTo(HttpStatus.FORBIDDEN);
        assertThat(refusal.message())
                .isEqualTo(
                        "operator endpoints are disabled: set OPERATOR_TOKEN or ADMIN_TOKEN on the instance to enable them");
        var none = new AccessTokens(null, null, null);
        assertThat(none.refusal(Caller.ANONYMOUS, Role.VIEWER).orElseThrow().message())
                .contains("set VIEWER_TOKEN, OPERATOR_TOKEN or ADMIN_TOKEN");
    }
}
