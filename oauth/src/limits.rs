//! Limits on the requests that cost something. Per client address: registering a client (a
//! stored row), opening the consent page (a stored pending request, maybe a document fetch) and
//! answering it (a call to Clerk Chat with a key someone typed). Across all callers: key checks
//! with Clerk Chat, so that the server cannot be used to try keys at scale from many addresses.
//!
//! A client's address is the connection's peer, unless the peer is a proxy the operator
//! trusts (`--trusted-proxy`): only then does `X-Forwarded-For` count.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{AuthorizationServer, endpoints};

/// Costly requests per minute from one address, as a burst and then a steady rate. A person
/// signing in makes three or four.
const ATTEMPTS_PER_MINUTE: u32 = 30;
/// Addresses tracked before the ones that are back to a full allowance are forgotten.
const TRACKED_ADDRESSES: usize = 10_000;
/// Key checks with Clerk Chat a second across all callers, after a burst of four times that.
const KEY_CHECKS_PER_SECOND: u32 = 5;
/// Key checks with Clerk Chat running at once.
const CONCURRENT_KEY_CHECKS: usize = 8;

/// The limits, and the proxies whose word on a client's address is taken.
pub(crate) struct CostlyRequestLimits {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    trusted_proxies: Vec<IpNet>,
    key_checks: DefaultDirectRateLimiter,
    key_checks_running: Semaphore,
}

impl CostlyRequestLimits {
    pub(crate) fn new(trusted_proxies: Vec<IpNet>) -> CostlyRequestLimits {
        let per_minute = Quota::per_minute(NonZeroU32::new(ATTEMPTS_PER_MINUTE).expect("the limit is not zero"));
        let key_checks = Quota::per_second(NonZeroU32::new(KEY_CHECKS_PER_SECOND).expect("the limit is not zero"))
            .allow_burst(NonZeroU32::new(KEY_CHECKS_PER_SECOND * 4).expect("the burst is not zero"));
        CostlyRequestLimits {
            per_address: RateLimiter::keyed(per_minute),
            trusted_proxies,
            key_checks: RateLimiter::direct(key_checks),
            key_checks_running: Semaphore::new(CONCURRENT_KEY_CHECKS),
        }
    }

    /// `Err` with the wait before the next attempt from this client is allowed.
    fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if self.per_address.len() > TRACKED_ADDRESSES {
            self.per_address.retain_recent();
        }
        self.per_address.check_key(&limit_key(client)).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// A turn to check a key with Clerk Chat, or `None` when too many are being checked.
    pub(crate) fn key_check_turn(&self) -> Option<SemaphorePermit<'_>> {
        let turn = self.key_checks_running.try_acquire().ok()?;
        self.key_checks.check().ok()?;
        Some(turn)
    }

    /// Where a request came from: the peer or, when the peer is a trusted proxy, the nearest
    /// address in `X-Forwarded-For` that is not a trusted proxy itself. Without connection
    /// information (a server not started with it) every request shares one allowance.
    fn client_address(&self, request: &Request) -> IpAddr {
        let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() else {
            return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        };
        client_address(peer.ip(), request.headers(), &self.trusted_proxies)
    }
}

fn client_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let trusted = |address: IpAddr| trusted_proxies.iter().any(|proxy| proxy.contains(&address));
    let mut client = peer.to_canonical();
    if !trusted(client) {
        return client;
    }
    // Right to left: each trusted proxy appended the address it saw; the first one that is not
    // a trusted proxy is the client. What lies left of it is the client's own claim.
    let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).flat_map(|value| value.split(','));
    let hops: Vec<&str> = forwarded.collect();
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(address) => {
                client = address.to_canonical();
                if !trusted(client) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// The key an address is limited by: an IPv4 address itself; an IPv6 address by its /64, the
/// network one subscriber is given, so that rotating through it does not reset the limit.
fn limit_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(Ipv6Addr::from(segments))
        }
        v4 => v4,
    }
}

/// Middleware on `POST /register` and `/authorize` (the page and its answer).
pub(crate) async fn limit_costly_requests(State(server): State<Arc<AuthorizationServer>>, request: Request, next: Next) -> Response {
    let client = server.limits.client_address(&request);
    let Err(wait) = server.limits.check(client) else {
        return next.run(request).await;
    };
    let seconds = wait.as_secs().max(1);
    tracing::warn!(%client, "too many registrations or sign-in attempts from one address");
    let message = format!("too many registrations or sign-in attempts from your address; try again in {seconds} s");
    let mut response = if request.uri().path() == "/register" {
        endpoints::oauth_error(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable", &message)
    } else {
        endpoints::error_page(StatusCode::TOO_MANY_REQUESTS, "Too many attempts", &format!("There were {message}."))
    };
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(forwarded) = forwarded {
            headers.insert("x-forwarded-for", forwarded.parse().unwrap());
        }
        headers
    }

    fn address(peer: &str, forwarded: Option<&str>, trusted: &[&str]) -> String {
        let trusted: Vec<IpNet> = trusted.iter().map(|net| net.parse().unwrap()).collect();
        client_address(peer.parse().unwrap(), &headers(forwarded), &trusted).to_string()
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_trusted_proxy() {
        assert_eq!(address("203.0.113.7", None, &[]), "203.0.113.7");
        assert_eq!(address("127.0.0.1", Some("198.51.100.1"), &[]), "127.0.0.1", "no proxy is trusted unless configured");
        assert_eq!(address("10.0.0.5", Some("198.51.100.1"), &[]), "10.0.0.5", "a private peer is not a proxy by itself");
        assert_eq!(address("127.0.0.1", Some("1.2.3.4, 198.51.100.1"), &["127.0.0.1/32"]), "198.51.100.1", "the proxy's entry");
        assert_eq!(
            address("10.0.0.5", Some("1.2.3.4, 198.51.100.1, 10.0.0.9"), &["10.0.0.0/8"]),
            "198.51.100.1",
            "past every trusted hop, not the client's own claim"
        );
        assert_eq!(address("203.0.113.7", Some("198.51.100.1"), &["10.0.0.0/8"]), "203.0.113.7", "an untrusted peer's header is ignored");
        assert_eq!(address("::ffff:127.0.0.1", Some("198.51.100.1"), &["127.0.0.0/8"]), "198.51.100.1", "a v4-mapped peer is unmapped");
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        assert_eq!(limit_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().unwrap()).to_string(), "2001:db8:1:2::");
        assert_eq!(limit_key("::ffff:192.0.2.9".parse().unwrap()).to_string(), "192.0.2.9");
        assert_eq!(limit_key("192.0.2.9".parse().unwrap()).to_string(), "192.0.2.9");
    }
}
