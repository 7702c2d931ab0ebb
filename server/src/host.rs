//! The server's side of the generated tools' `Host` seam: credentials, scopes, providers.

use clerk_chat::mcp::{Host, HostError, ProviderSelection};
use rmcp::RoleServer;
use rmcp::service::RequestContext;

use crate::providers::ProviderPolicy;

/// Until OAuth lands, every caller acts as the operator: one upstream client with the
/// operator's key (or the sandbox team's). OAuth will put a principal into the request
/// extensions and pick that principal's client here; the tools do not change.
pub struct ServerHost {
    upstream: clerk_chat::Client,
    providers: ProviderPolicy,
}

impl ServerHost {
    pub fn new(upstream: clerk_chat::Client, providers: ProviderPolicy) -> ServerHost {
        ServerHost { upstream, providers }
    }
}

impl Host for ServerHost {
    type Client = clerk_chat::Client;

    fn upstream_client(&self, _request: &RequestContext<RoleServer>) -> Result<clerk_chat::Client, HostError> {
        Ok(self.upstream.clone())
    }

    /// The HTTP middleware already refused calls without the tool's scope (403, for step-up);
    /// this keeps the rule for any path into a tool that skipped it.
    fn check_scope(&self, request: &RequestContext<RoleServer>, scope: &str) -> Result<(), HostError> {
        let principal =
            request.extensions.get::<axum::http::request::Parts>().and_then(|parts| parts.extensions.get::<crate::auth::Principal>());
        match principal {
            Some(principal) if !principal.scopes.contains(scope) => Err(HostError::MissingScope { scope: scope.to_owned() }),
            _ => Ok(()),
        }
    }

    fn select_provider(&self, explicit: Option<&str>, sender: Option<&str>) -> Result<Option<ProviderSelection>, HostError> {
        self.providers.select(explicit, sender)
    }

    fn enabled_providers(&self) -> Option<Vec<String>> {
        Some(self.providers.enabled().to_vec())
    }
}
