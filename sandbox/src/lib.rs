//! clerk-sandbox: a local implementation of the Clerk Chat public API on SQLite.
//!
//! It answers every operation of `openapi/clerk-chat.yaml` with the same paths, `apiKey`
//! header, envelopes, status codes and validation as the real API, and sends no SMS: messages
//! move through `sending`, `sent` and `delivered` on a timer, per simulated provider.

mod error;
mod providers;
mod routes;
mod store;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub use clerk_chat::sms::{Encoding, measure, segments};
pub use providers::FAILING_NUMBER;
pub use routes::Fault;
pub use store::{SeededInbox, TeamSeed};

/// How long a message stays `sending`, and then `sent`, unless configured: 2 s, slow enough to
/// watch the lifecycle and fast enough to wait for.
pub const DEFAULT_DELIVERY_DELAY_MS: u64 = 2000;

/// Requests a second per team before 429, unless configured.
pub const DEFAULT_RATE_LIMIT_PER_SECOND: u32 = 100;

/// How a sandbox is set up; [`SandboxConfig::new`] has the defaults.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The SQLite database file; created, migrated and seeded on first start.
    pub database: PathBuf,
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// How long a message stays `sending`, and then `sent` (times each provider's factor).
    pub delivery_delay: Duration,
    /// Requests a second per team before 429 (bursts of twice that); 0 turns limiting off.
    pub rate_limit_per_second: u32,
}

impl SandboxConfig {
    /// A sandbox on `database`, on a free loopback port, with the default delay and rate.
    pub fn new(database: impl Into<PathBuf>) -> SandboxConfig {
        SandboxConfig {
            database: database.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            delivery_delay: Duration::from_millis(DEFAULT_DELIVERY_DELAY_MS),
            rate_limit_per_second: DEFAULT_RATE_LIMIT_PER_SECOND,
        }
    }
}

/// Why a sandbox cannot start or do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The database cannot be opened, or a query failed.
    #[error("the sandbox's database: {0}")]
    Store(#[from] clerk_store::StoreError),
    /// [`Sandbox::queue_fault`] was given a key of no team.
    #[error("no team of this sandbox has that API key")]
    UnknownApiKey,
    /// [`Sandbox::queue_fault`] was given a fault it cannot queue.
    #[error("cannot queue the fault: {0}")]
    InvalidFault(&'static str),
    /// The temporary directory of [`Sandbox::start`] cannot be made.
    #[error("cannot make a directory for the sandbox's database: {0}")]
    TemporaryDirectory(std::io::Error),
    /// The address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// A running sandbox. Dropping it does not stop it; call [`Sandbox::shutdown`].
pub struct Sandbox {
    base_url: String,
    store: store::Store,
    seeded: Option<TeamSeed>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    faults: Arc<routes::FaultQueues>,
    /// The directory of [`Sandbox::start`]'s database, removed with the sandbox.
    directory: Option<tempfile::TempDir>,
}

impl Sandbox {
    /// A fresh sandbox for tests: a new database in a temporary directory (removed when the
    /// sandbox is shut down or dropped), a free loopback port, no rate limit, and the demo team
    /// in [`Sandbox::seeded_team`] with its key and numbers.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// let sandbox = clerk_sandbox::Sandbox::start().await?;
    /// let team = sandbox.seeded_team().expect("a fresh sandbox has its demo team");
    /// let key = clerk_chat::ApiKey::new(team.api_key.as_str())?;
    /// let client = clerk_chat::Client::with_api_key(sandbox.base_url(), &key)?;
    /// sandbox.queue_fault(&team.api_key, clerk_sandbox::Fault::Status(503))?;
    /// assert!(client.find_messages().send().await.is_err());
    /// sandbox.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn start() -> Result<Sandbox, SandboxError> {
        let directory = tempfile::tempdir().map_err(SandboxError::TemporaryDirectory)?;
        let mut config = SandboxConfig::new(directory.path().join("sandbox.db"));
        config.rate_limit_per_second = 0;
        let mut sandbox = Sandbox::start_with(config).await?;
        sandbox.directory = Some(directory);
        Ok(sandbox)
    }

    /// Opens (creating, migrating and, the first time, seeding) the database, then serves the
    /// API and sends scheduled campaigns until [`Sandbox::shutdown`].
    pub async fn start_with(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let store = store::Store::open(&config.database).await?;
        let seeded = if store.team_count().await? == 0 { Some(store.create_team("Demo team").await?) } else { None };
        let listener =
            tokio::net::TcpListener::bind(config.bind).await.map_err(|source| SandboxError::Bind { address: config.bind, source })?;
        let address = listener.local_addr().map_err(|source| SandboxError::Bind { address: config.bind, source })?;
        let scheduler = Arc::new(Notify::new());
        let faults: Arc<routes::FaultQueues> = Arc::default();
        let state = routes::AppState {
            store: store.clone(),
            delivery_delay: config.delivery_delay,
            limiter: Arc::new(routes::RateLimiter::new(config.rate_limit_per_second)),
            scheduler: Arc::clone(&scheduler),
            faults: Arc::clone(&faults),
        };
        let (stop, stopped) = watch::channel(false);
        let mut server_stopped = stopped.clone();
        let app = routes::router(state);
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = server_stopped.wait_for(|stop| *stop).await;
            };
            let listener = axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
                let _ = stream.set_nodelay(true);
            });
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!("the sandbox server stopped: {error}");
            }
        });
        let campaigns = tokio::spawn(run_campaign_scheduler(store.clone(), config.delivery_delay, scheduler, stopped));
        let tasks = vec![server, campaigns];
        Ok(Sandbox { base_url: format!("http://{address}"), store, seeded, stop, tasks, faults, directory: None })
    }

    /// Where the API is, e.g. `http://127.0.0.1:8788`; paths start with `/public`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The demo team made on first start, with its API key; `None` on later starts.
    pub fn seeded_team(&self) -> Option<&TeamSeed> {
        self.seeded.as_ref()
    }

    /// A new team with its own key, inboxes and contacts, isolated from every other team.
    pub async fn create_team(&self, name: &str) -> Result<TeamSeed, SandboxError> {
        Ok(self.store.create_team(name).await?)
    }

    /// The inboxes of the team that `api_key` belongs to; empty for an unknown key.
    pub async fn inboxes(&self, api_key: &str) -> Result<Vec<SeededInbox>, SandboxError> {
        match self.store.team_for_key(api_key) {
            Some(team_id) => Ok(self.store.inboxes(&team_id).await?),
            None => Ok(Vec::new()),
        }
    }

    /// Makes the next request to `/public` of the team that `api_key` belongs to meet `fault`
    /// (as `POST /sandbox/faults` does); faults queue up, one per request, up to 1,000.
    pub fn queue_fault(&self, api_key: &str, fault: Fault) -> Result<(), SandboxError> {
        if let Some(problem) = fault.problem() {
            return Err(SandboxError::InvalidFault(problem));
        }
        let team_id = self.store.team_for_key(api_key).ok_or(SandboxError::UnknownApiKey)?;
        routes::queue_faults(&self.faults, team_id, routes::QueuedFault { effect: fault, method: None }, 1)
            .map(drop)
            .map_err(|_| SandboxError::InvalidFault("1,000 faults are queued already"))
    }

    /// Stops serving, lets requests in flight finish, and closes the database.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.store.close().await;
    }
}

/// Sends scheduled campaigns when they are due: on start (so a campaign due while the sandbox
/// was down goes out then), when one is scheduled, and at the next due time.
async fn run_campaign_scheduler(store: store::Store, delivery_delay: Duration, wake: Arc<Notify>, mut stopped: watch::Receiver<bool>) {
    const IDLE_RECHECK: Duration = Duration::from_secs(1);
    loop {
        match store.due_campaigns(chrono::Utc::now()).await {
            Ok(due) => {
                for id in due {
                    if let Err(error) = store.fire_campaign(id, delivery_delay).await {
                        tracing::error!(campaign = id, "cannot send a scheduled campaign: {error}");
                    }
                }
            }
            Err(error) => tracing::error!("cannot read scheduled campaigns: {error}"),
        }
        let wait = match store.next_campaign_time().await {
            Ok(Some(next)) => (next - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO).min(IDLE_RECHECK),
            _ => IDLE_RECHECK,
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = wake.notified() => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}
