package io.bisectbot.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;

class TrustedProxiesTest {

    private static MockHttpServletRequest from(String peer, String forwardedFor) {
        var request = new MockHttpServletRequest();
        request.setRemoteAddr(peer);
        if (forwardedFor != null) {
            request.addHeader("X-Forwarded-For", forwardedFor);
        }
        return request;
    }

    @Test
    void without_trusted_proxies_the_header_is_ignored() {
        assertThat(new TrustedProxies("").clientAddress(from("203.0.113.5", "198.51.100.9")))
                .isEqualTo("203.0.113.5");
    }

    @Test
    void a_trusted_proxy_s_header_gives_the_rightmost_untrusted_address() {
        var proxies = new TrustedProxies("10.0.0.0/8, ::1");
        // The client wrote "1.2.3.4" itself; the proxy appended the address it saw.
        assertThat(proxies.clientAddress(from("10.1.2.3", "1.2.3.4, 198.51.100.9")))
                .isEqualTo("198.51.100.9");
        assertThat(proxies.clientAddress(from("10.1.2.3", "198.51.100.9, 10.9.9.9")))
                .isEqualTo("198.51.100.9");
        assertThat(proxies.clientAddress(from("0:0:0:0:0:0:0:1", "2001:db8::7")))
                .isEqualTo("2001:db8::7");
        assertThat(proxies.clientAddress(from("10.1.2.3", null))).isEqualTo("10.1.2.3");
    }

    @Test
    void an_untrusted_peer_cannot_choose_its_address() {
        var proxies = new TrustedProxies("10.0.0.0/8");
        assertThat(proxies.clientAddress(from("203.0.113.5", "10.0.0.1"))).isEqualTo("203.0.113.5");
        assertThat(proxies.clientAddress(from("11.0.0.1", "198.51.100.9"))).isEqualTo("11.0.0.1");
    }

    @Test
    void a_bad_range_is_refused_with_the_value() {
        assertThatThrownBy(() -> new TrustedProxies("10.0.0.0/33")).hasMessageContaining("10.0.0.0/33");
        assertThatThrownBy(() -> new TrustedProxies("proxy.example"))
                .hasMessageContaining("'proxy.example' is not an IP address");
    }
}
