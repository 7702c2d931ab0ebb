//! The seam between the generated tools and the server that runs them.

use rmcp::RoleServer;
use rmcp::service::RequestContext;

use crate::mcp::safety::{SafeSendStore, SafetySettings};

/// What the server provides to the tools: who is calling and with which upstream
/// credentials, what they may do, and which SMS provider carries a send.
pub trait Host: Send + Sync + 'static {
    /// The SDK client type (the generated `Client`).
    type Client: Clone + Send + Sync + 'static;

    /// The upstream client for the principal of this request, carrying that principal's
    /// own API key and no one else's.
    fn upstream_client(&self, request: &RequestContext<RoleServer>) -> Result<Self::Client, HostError>;

    /// Refuses the call when the principal lacks `scope`. The default allows everything,
    /// for transports without OAuth (stdio).
    fn check_scope(&self, request: &RequestContext<RoleServer>, scope: &str) -> Result<(), HostError> {
        let _ = (request, scope);
        Ok(())
    }

    /// Chooses the provider for a tool with a provider argument: the explicit argument
    /// (which must be enabled), else a route for the sender, else the default. `None`
    /// leaves the argument as the caller gave it. The default passes an explicit one through.
    fn select_provider(&self, explicit: Option<&str>, sender: Option<&str>) -> Result<Option<ProviderSelection>, HostError> {
        let _ = sender;
        Ok(explicit
            .map(|provider| ProviderSelection { provider: provider.to_owned(), reason: "given as the `provider` argument".to_owned() }))
    }

    /// The providers to offer in tool schemas; `None` offers every provider of the spec.
    fn enabled_providers(&self) -> Option<Vec<String>> {
        None
    }

    /// Whether `tools/list` shows a caller only the tools [`Host::check_scope`] lets it call.
    /// `false` (the default) lists every tool, so that a client can see a tool and ask for its
    /// scope when a call is refused (step-up).
    fn lists_only_usable_tools(&self) -> bool {
        false
    }

    /// Whose rules shape the listed tool schemas; calls are validated against the full ones.
    fn client_profile(&self) -> crate::mcp::ClientProfile {
        crate::mcp::ClientProfile::Generic
    }

    /// Where idempotency keys and recent sends are kept. `None` (the default) turns the
    /// safety of sends off: a call with an `idempotency_key` is then refused, not sent unguarded.
    fn safe_sends(&self) -> Option<&dyn SafeSendStore> {
        None
    }

    /// The account a request acts for: idempotency keys and the repeat guard are per account.
    fn account(&self, request: &RequestContext<RoleServer>) -> String {
        let _ = request;
        "operator".to_owned()
    }

    /// How the safety of sends behaves.
    fn safety_settings(&self) -> SafetySettings {
        SafetySettings::default()
    }
}

/// The provider the host chose for one call, and why; the result shows it to the caller as
/// `provider_selection`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProviderSelection {
    /// The provider's name, as the tool's provider argument spells it.
    pub provider: String,
    /// Why this provider was chosen, in words the caller can check against its intent.
    pub reason: String,
}

/// A refusal by the host. The message is shown to the MCP client, so it says what to do
/// and never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The session's OAuth grant lacks the scope the tool needs.
    #[error("this session may not use this tool: it needs the OAuth scope `{scope}`; reconnect (in Claude Code: /mcp) and grant it")]
    MissingScope {
        /// The scope the tool needs.
        scope: String,
    },
    /// The call names an SMS provider that this server does not enable.
    #[error("SMS provider `{provider}` is not enabled on this server; enabled providers: {}", enabled.join(", "))]
    ProviderNotEnabled {
        /// The provider the call asked for.
        provider: String,
        /// The providers this server does enable, so that the caller can pick one.
        enabled: Vec<String>,
    },
    /// The host cannot serve the call for another reason, such as no upstream credentials
    /// for this session; the text says what to do.
    #[error("{0}")]
    Unavailable(String),
}
