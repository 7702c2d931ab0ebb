//! The addresses a public server must not fetch a client ID metadata document from on a
//! client's say-so: its own machine and networks, and the ranges that lead there (IPv4 mapped,
//! compatible, NAT64 and 6to4 forms of them).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// True for an address that is not on the public internet.
pub(super) fn is_private(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_private_v4(v4),
            None => is_private_v6(v6),
        },
    }
}

fn is_private_v4(v4: Ipv4Addr) -> bool {
    let [first, second, third, _] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || first == 0
        // 100.64.0.0/10, carrier-grade NAT and many cloud networks.
        || (first == 100 && (second & 0xc0) == 64)
        // 192.0.0.0/24, IETF protocol assignments.
        || (first == 192 && second == 0 && third == 0)
        // 198.18.0.0/15, benchmarking networks.
        || (first == 198 && (second & 0xfe) == 18)
        // 240.0.0.0/4, reserved.
        || first >= 240
}

fn is_private_v6(v6: Ipv6Addr) -> bool {
    let first = v6.segments()[0];
    v6.is_loopback()
        || v6.is_unspecified()
        || v6.is_multicast()
        // fc00::/7, unique local.
        || (first & 0xfe00) == 0xfc00
        // fe80::/10, link local.
        || (first & 0xffc0) == 0xfe80
        // 2001:db8::/32, documentation.
        || (first == 0x2001 && v6.segments()[1] == 0x0db8)
}

/// The IPv4 address an IPv6 address stands for: mapped (::ffff:a.b.c.d), compatible
/// (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) or 6to4 (2002:aabb:ccdd::).
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = v6.segments();
    let octets = v6.octets();
    let last_four = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
    if let Some(mapped) = v6.to_ipv4_mapped() {
        return Some(mapped);
    }
    if segments[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
        return Some(last_four);
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(last_four);
    }
    if segments[0] == 0x2002 {
        return Some(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]));
    }
    None
}

/// Resolves the host of a client ID metadata document, keeping only public addresses: a name
/// that points into this server's own network is refused, not just an IP literal.
pub(super) struct PublicAddressesOnly;

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let public: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.filter(|address| !is_private(address.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_local_addresses_are_recognised() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "192.0.0.8",
            "198.18.0.1",
            "198.19.255.1",
            "240.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2002:c0a8:0101::1",
            "2001:db8::1",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "100.128.0.1", "198.20.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:0808:0808::"]
        {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn a_name_resolving_to_this_machine_is_not_fetched() {
        use reqwest::dns::Resolve;
        let refused = PublicAddressesOnly.resolve("localhost".parse().unwrap()).await.err().expect("localhost is refused");
        assert!(refused.to_string().contains("resolves to no public address"), "{refused}");
    }
}
