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

    fn select_provider(&self, explicit: Option<&str>, sender: Option<&str>) -> Result<Option<ProviderSelection>, HostError> {
        self.providers.select(explicit, sender)
    }

    fn enabled_providers(&self) -> Option<Vec<String>> {
        Some(self.providers.enabled().to_vec())
    }
}
