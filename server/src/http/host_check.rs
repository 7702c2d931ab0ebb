//! DNS-rebinding protection for every route, not just `/mcp` (where rmcp checks too): a request
//! whose `Host` is not one this server answers to (`--allowed-host`, plus the public URL's host)
//! gets 403, so a page on another site cannot reach the sign-in pages, the metadata or the keys
//! through a name it made point at this machine. `/healthz` and `/readyz` are exempt: load
//! balancers probe them by address.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The `Host` values served: a host, or a host and port.
pub(super) struct AllowedHosts {
    allowed: Vec<(String, Option<u16>)>,
}

impl AllowedHosts {
    pub(super) fn new(allowed: &[String]) -> AllowedHosts {
        let allowed = allowed
            .iter()
            .map(|entry| match entry.trim().parse::<Authority>() {
                Ok(authority) => (normalized(authority.host()), authority.port_u16()),
                Err(_) => (normalized(entry.trim()), None),
            })
            .collect();
        AllowedHosts { allowed }
    }

    fn permits(&self, authority: &Authority) -> bool {
        let host = normalized(authority.host());
        self.allowed.iter().any(|(allowed, port)| *allowed == host && port.is_none_or(|port| Some(port) == authority.port_u16()))
    }
}

fn normalized(host: &str) -> String {
    host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()
}

/// The middleware: 400 for a missing or malformed `Host`, 403 for one not served.
pub(super) async fn check_host(State(allowed): State<Arc<AllowedHosts>>, request: Request, next: Next) -> Response {
    if matches!(request.uri().path(), "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    let authority = request.headers().get(header::HOST).and_then(|host| host.to_str().ok()).and_then(|host| host.parse::<Authority>().ok());
    match authority {
        Some(authority) if allowed.permits(&authority) => next.run(request).await,
        Some(authority) => {
            tracing::warn!(host = ?authority.as_str(), "refused a request for a host this server does not serve (possible DNS rebinding)");
            (StatusCode::FORBIDDEN, "Forbidden: Host header is not allowed").into_response()
        }
        None => (StatusCode::BAD_REQUEST, "Bad Request: missing or invalid Host header").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_by_name_and_port_when_one_is_given() {
        let allowed = AllowedHosts::new(&["localhost".into(), "127.0.0.1".into(), "::1".into(), "mcp.example.com:8443".into()]);
        let permits = |host: &str| allowed.permits(&host.parse().unwrap());
        assert!(permits("localhost:8787") && permits("LOCALHOST") && permits("127.0.0.1:1") && permits("[::1]:8787"));
        assert!(permits("mcp.example.com:8443"));
        assert!(!permits("mcp.example.com:443"), "the port must match when the entry names one");
        assert!(!permits("evil.example") && !permits("127.0.0.2:8787") && !permits("localhost.evil.example"));
    }
}
