//! The Clerk Chat API the tools call: a remote one with the operator's key, or the embedded sandbox.

use std::path::{Path, PathBuf};

use clerk_chat::{ApiKey, Client, ClientOptions, RetryPolicy};
use clerk_sandbox::{Sandbox, SandboxConfig, SeededInbox};

use crate::config::Settings;

/// The API tool calls go to, and how to reach it.
pub struct Upstream {
    /// The operator's client: CLERK_API_KEY's, or the sandbox demo team's. `None` only when
    /// users bring their own keys and the operator set none.
    pub client: Option<Client>,
    /// The API's base URL: Clerk Chat's, or the embedded sandbox's.
    pub base_url: String,
    /// Timeouts and user agent of every client made for this upstream.
    pub options: ClientOptions,
    /// The sandbox demo team's key, for the one-click sandbox sign-in.
    pub sandbox_api_key: Option<String>,
    /// Set when the embedded sandbox is the upstream; it stops with the server.
    pub sandbox: Option<Sandbox>,
    /// The sandbox team's numbers, to send from.
    pub sandbox_inboxes: Vec<SeededInbox>,
}

/// Why the upstream cannot be used. Shown to the operator, at start-up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// `--upstream` without CLERK_API_KEY where the operator's key is needed.
    #[error(
        "--upstream {0} needs an API key: set CLERK_API_KEY to a Clerk Chat API key (Clerk Chat > Settings > API), or serve HTTP with --auth builtin, where every user connects their own key"
    )]
    MissingKey(String),
    /// CLERK_API_KEY is set but cannot be a key.
    #[error("CLERK_API_KEY is not usable: {0}")]
    BadKey(#[from] clerk_chat::InvalidApiKey),
    /// The upstream URL cannot be used.
    #[error("{0}")]
    Client(#[from] clerk_chat::ClientBuildError),
    /// The embedded sandbox cannot start.
    #[error("cannot start the embedded sandbox: {0}")]
    Sandbox(#[from] clerk_sandbox::SandboxError),
    /// The data directory (where the sandbox keeps its database and key) cannot be used.
    #[error("cannot use the data directory {path}: {source}")]
    DataDir {
        /// The directory or file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// Connects to the upstream. `operator_key_required` is false when every user signs in with
/// their own key (the built-in authorization server), so CLERK_API_KEY may be absent.
pub(crate) async fn connect(settings: &Settings, operator_key_required: bool) -> Result<Upstream, UpstreamError> {
    // The SDK retries nothing here: a tool call's failure goes to the model with whether a
    // retry can help, and the safety of sends decides what may be sent again.
    let options = ClientOptions::default().request_timeout(settings.upstream_timeout).retry_policy(RetryPolicy::none());
    match &settings.upstream {
        Some(base_url) => {
            let client = match settings.api_key.as_deref() {
                Some(key) => Some(Client::with_options(base_url, &ApiKey::new(key)?, &options)?),
                None if operator_key_required => return Err(UpstreamError::MissingKey(base_url.clone())),
                None => None,
            };
            Ok(Upstream { client, base_url: base_url.clone(), options, sandbox_api_key: None, sandbox: None, sandbox_inboxes: Vec::new() })
        }
        None => {
            let directory = settings.data_dir.join("sandbox");
            std::fs::create_dir_all(&directory).map_err(|source| UpstreamError::DataDir { path: directory.clone(), source })?;
            let mut config = SandboxConfig::new(directory.join("clerk-sandbox.db"));
            config.delivery_delay = settings.sandbox_delivery_delay;
            config.rate_limit_per_second = settings.sandbox_rate_limit;
            let sandbox = Sandbox::start_with(config).await?;
            let key = sandbox_key(&sandbox, &directory.join("api-key")).await?;
            let client = Client::with_options(sandbox.base_url(), &key, &options)?;
            let sandbox_inboxes = sandbox.inboxes(key.expose()).await?;
            Ok(Upstream {
                client: Some(client),
                base_url: sandbox.base_url().to_owned(),
                options,
                sandbox_api_key: Some(key.expose().to_owned()),
                sandbox: Some(sandbox),
                sandbox_inboxes,
            })
        }
    }
}

/// The sandbox team's key, kept beside its database (mode 0600): the sandbox stores only hashes,
/// so the key it shows once is saved here on first start and read back later.
async fn sandbox_key(sandbox: &Sandbox, path: &Path) -> Result<ApiKey, UpstreamError> {
    let io_error = |source| UpstreamError::DataDir { path: path.to_owned(), source };
    if let Some(seed) = sandbox.seeded_team() {
        clerk_support::secret_file::replace(path, seed.api_key.as_bytes()).map_err(io_error)?;
        return Ok(ApiKey::new(seed.api_key.clone())?);
    }
    match std::fs::read_to_string(path) {
        Ok(key) => Ok(ApiKey::new(key.trim())?),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let team = sandbox.create_team("Demo team").await?;
            clerk_support::secret_file::replace(path, team.api_key.as_bytes()).map_err(io_error)?;
            Ok(ApiKey::new(team.api_key)?)
        }
        Err(error) => Err(io_error(error)),
    }
}
