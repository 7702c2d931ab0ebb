//! Per-address limits on the two requests that cost something: registering a client (a stored
//! row) and answering the consent page (a call to Clerk Chat with a key someone typed, which
//! would otherwise let anyone use this server to try keys).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::{AuthorizationServer, endpoints};

/// Registrations and consent answers per minute from one address, as a burst and then a steady
/// rate. A person signing in makes two or three.
const ATTEMPTS_PER_MINUTE: u32 = 30;
/// Addresses tracked before the ones that are back to a full allowance are forgotten.
const TRACKED_ADDRESSES: usize = 10_000;

pub(crate) struct CostlyRequestLimits {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl CostlyRequestLimits {
    pub(crate) fn new() -> CostlyRequestLimits {
        let quota = Quota::per_minute(NonZeroU32::new(ATTEMPTS_PER_MINUTE).expect("the limit is not zero"));
        CostlyRequestLimits { limiter: RateLimiter::keyed(quota) }
    }

    /// `Err` with the wait before the next attempt is allowed.
    fn check(&self, address: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() > TRACKED_ADDRESSES {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&address).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Where a request came from: the connection's peer or, when the peer is a proxy on this machine
/// or its network, the address that proxy appended to `X-Forwarded-For`. Without connection
/// information (a server not started with it) every request shares one allowance.
fn client_address(request: &Request) -> IpAddr {
    let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() else {
        return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    };
    let behind_proxy = match peer.ip() {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    };
    // The rightmost entry is the one the nearest proxy appended; anything left of it is the
    // client's own claim.
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .next_back()
        .and_then(|address| address.trim().parse::<IpAddr>().ok());
    match forwarded {
        Some(address) if behind_proxy => address,
        _ => peer.ip(),
    }
}

/// Middleware on `POST /register` and `POST /authorize`.
pub(crate) async fn limit_costly_requests(State(server): State<Arc<AuthorizationServer>>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let address = client_address(&request);
    let Err(wait) = server.limits.check(address) else {
        return next.run(request).await;
    };
    let seconds = wait.as_secs().max(1);
    tracing::warn!(%address, "too many registrations or sign-in attempts from one address");
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

    fn request(peer: &str, forwarded: Option<&str>) -> Request {
        let mut request = Request::new(axum::body::Body::empty());
        request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        if let Some(forwarded) = forwarded {
            request.headers_mut().insert("x-forwarded-for", forwarded.parse().unwrap());
        }
        request
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_local_proxy() {
        let address = |peer, forwarded| client_address(&request(peer, forwarded)).to_string();
        assert_eq!(address("203.0.113.7:5000", None), "203.0.113.7");
        assert_eq!(address("203.0.113.7:5000", Some("198.51.100.1")), "203.0.113.7", "a public peer cannot claim another address");
        assert_eq!(
            address("127.0.0.1:5000", Some("1.2.3.4, 198.51.100.1")),
            "198.51.100.1",
            "the proxy's own entry, not the client's claim"
        );
        assert_eq!(address("10.0.0.5:5000", Some("198.51.100.1")), "198.51.100.1");
        assert_eq!(address("127.0.0.1:5000", None), "127.0.0.1");
    }
}
