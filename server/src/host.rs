//! The server's side of the generated tools' `Host` seam: credentials, scopes, providers, and
//! the store and settings of the safety of sends.

use std::sync::Arc;

use clerk_chat::mcp::{ClientProfile, Host, HostError, ProviderSelection, SafeSendStore, SafetySettings};

use crate::config::ToolSelection;
use crate::safe_sends::SqlSafeSends;
use rmcp::RoleServer;
use rmcp::service::RequestContext;

use crate::accounts::AccountClient;
use crate::providers::ProviderPolicy;
use crate::upstream::{Upstream, UpstreamError};

/// Whose key a tool call goes upstream with.
#[derive(Clone)]
pub enum Credentials {
    /// Every caller acts as the operator (stdio, `--auth none`, `--auth external`): the
    /// operator's key, or the sandbox demo team's.
    ServerWide(clerk_chat::Client),
    /// Each caller as their own signed-in account (`--auth builtin`): the client
    /// `accounts::attach_account_client` put into the request. There is no fallback.
    PerAccount,
}

impl Credentials {
    /// The operator's client, for the modes where every caller acts as the operator.
    pub fn operators(upstream: &Upstream) -> Result<Credentials, UpstreamError> {
        let client = upstream.client.clone().ok_or_else(|| UpstreamError::MissingKey(upstream.base_url.clone()))?;
        Ok(Credentials::ServerWide(client))
    }
}

/// The [`Host`] the generated tools run on in this server.
pub struct ServerHost {
    credentials: Credentials,
    providers: ProviderPolicy,
    safe_sends: Arc<SqlSafeSends>,
    safety: SafetySettings,
    /// `--list-tools allowed`: tools/list shows a caller only what its scopes allow.
    list_only_usable_tools: bool,
    /// `--client`: whose rules shape the listed schemas.
    client_profile: ClientProfile,
}

impl ServerHost {
    /// A host calling upstream with `credentials`, choosing providers by `providers`, and
    /// keeping idempotency keys and recent sends in `safe_sends`.
    pub fn new(
        credentials: Credentials,
        providers: ProviderPolicy,
        safe_sends: Arc<SqlSafeSends>,
        safety: SafetySettings,
        tools: &ToolSelection,
    ) -> ServerHost {
        ServerHost {
            credentials,
            providers,
            safe_sends,
            safety,
            list_only_usable_tools: tools.lists_only_allowed(),
            client_profile: tools.profile(),
        }
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn database_ready(&self) -> bool {
        self.safe_sends.ready().await
    }
}

fn http_parts(request: &RequestContext<RoleServer>) -> Option<&axum::http::request::Parts> {
    request.extensions.get::<axum::http::request::Parts>()
}

impl Host for ServerHost {
    type Client = clerk_chat::Client;

    fn upstream_client(&self, request: &RequestContext<RoleServer>) -> Result<clerk_chat::Client, HostError> {
        match &self.credentials {
            Credentials::ServerWide(client) => Ok(client.clone()),
            Credentials::PerAccount => http_parts(request)
                .and_then(|parts| parts.extensions.get::<AccountClient>())
                .map(|account| account.0.clone())
                .ok_or_else(|| {
                    HostError::Unavailable(
                        "this session is not signed in to a Clerk Chat account; reconnect (in Claude Code: /mcp) and sign in".to_owned(),
                    )
                }),
        }
    }

    /// The HTTP middleware already refused calls without the tool's scope (403, for step-up);
    /// this keeps the rule for any path into a tool that skipped it.
    fn check_scope(&self, request: &RequestContext<RoleServer>, scope: &str) -> Result<(), HostError> {
        let principal = http_parts(request).and_then(|parts| parts.extensions.get::<crate::auth::Principal>());
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

    fn lists_only_usable_tools(&self) -> bool {
        self.list_only_usable_tools
    }

    fn client_profile(&self) -> ClientProfile {
        self.client_profile
    }

    fn safe_sends(&self) -> Option<&dyn SafeSendStore> {
        Some(&*self.safe_sends)
    }

    /// The signed-in account (with the built-in sign-in) or the token's subject; without
    /// sign-in (stdio, `--auth none`) every caller is the operator.
    fn account(&self, request: &RequestContext<RoleServer>) -> String {
        http_parts(request)
            .and_then(|parts| parts.extensions.get::<crate::auth::Principal>())
            .map_or_else(|| "operator".to_owned(), |principal| format!("subject:{}", principal.subject))
    }

    fn safety_settings(&self) -> SafetySettings {
        self.safety.clone()
    }
}
