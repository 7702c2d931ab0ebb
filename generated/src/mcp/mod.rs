//! The MCP runtime that the generated tool routes in `tools.rs` call.
//!
//! A route names its SDK call and argument types; everything a route would otherwise
//! repeat lives here: argument validation with messages an LLM can act on, defaults,
//! provider selection, the scope check, progress, cancellation, error mapping, the cost
//! of a send and the safety of sends (idempotency keys, the repeat guard, confirmation).
//! The server binary plugs in through [`Host`].

mod arguments;
mod cost;
mod drain;
mod error;
mod host;
mod loose_arguments;
mod profiles;
mod providers;
mod results;
mod safety;
mod server;
mod spec;
mod upstream;

pub use arguments::ToolCall;
pub use error::{ArgumentProblem, ToolError};
pub use host::{Host, HostError, ProviderSelection};
pub use profiles::ClientProfile;
pub use safety::{CallKey, Claim, RecentSend, SafeSendStore, SafetySettings, StoreFailure, StoreFuture};
pub use server::{ToolServer, route};
pub use spec::{ArgumentSpec, Location, Reconcile, Role, Safety, ToolHints, ToolSpec};
pub use upstream::{respond, respond_empty, respond_json, respond_text};
