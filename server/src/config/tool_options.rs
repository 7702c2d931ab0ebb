//! The `[tools]` settings: which tools are served, how they are listed, and for which client
//! their schemas are shaped. Part of [`super::options::Options`], defined once like every setting.

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

/// Which tools are served: `[tools]` in the TOML file. Applied in this order: `--tools`, then
/// `--tool-scopes`, then `--read-only`, then `--exclude-tools`. A tool not served is neither
/// listed nor callable, its scope is not advertised or asked for, and the consent page does not
/// show it.
#[derive(Debug, Clone, Default, Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolOptions {
    /// Serve only these tools, comma-separated. [default: every tool]
    #[arg(id = "tools.only", long = "tools", global = true, env = "CLERK_MCP_TOOLS", value_delimiter = ',', value_name = "NAME")]
    pub only: Option<Vec<String>>,
    /// Serve only the tools that need one of these OAuth scopes, comma-separated (e.g.
    /// messages:read,contacts:read). [default: every scope]
    #[arg(
        id = "tools.scopes",
        long = "tool-scopes",
        global = true,
        env = "CLERK_MCP_TOOL_SCOPES",
        value_delimiter = ',',
        value_name = "SCOPE"
    )]
    pub scopes: Option<Vec<String>>,
    /// Serve only the tools that read (their annotations say read-only): an agent that can
    /// read conversations but never text anyone.
    #[arg(
        id = "tools.read_only",
        long = "read-only",
        global = true,
        env = "CLERK_MCP_READ_ONLY",
        num_args = 0..=1,
        default_value_t = false,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub read_only: bool,
    /// Serve every tool but these, comma-separated.
    #[arg(
        id = "tools.exclude",
        long = "exclude-tools",
        global = true,
        env = "CLERK_MCP_EXCLUDE_TOOLS",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub exclude: Vec<String>,
    /// Which served tools tools/list shows a signed-in caller: `all` (a client sees a tool its
    /// token lacks the scope for, and can ask for the scope when a call gets 403), or `allowed`
    /// (only the tools its token's scopes allow).
    #[arg(id = "tools.list", long = "list-tools", global = true, env = "CLERK_MCP_LIST_TOOLS", value_enum, default_value_t = ListTools::All)]
    pub list: ListTools,
    /// Shape the tool schemas for what this client is known to accept (README, "Client
    /// profiles"); calls are still checked against the full schemas.
    #[arg(id = "tools.client", long = "client", global = true, env = "CLERK_MCP_CLIENT", value_enum, default_value_t = ClientKind::Generic)]
    pub client: ClientKind,
}

/// The client profiles, as `--client` names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// The schemas as generated (JSON Schema 2020-12, every constraint).
    #[default]
    Generic,
    /// Claude Code, Claude Desktop, claude.ai: no output schemas.
    Claude,
    /// Cursor: no type arrays, no oneOf/anyOf/allOf.
    Cursor,
    /// OpenAI strict mode: every property required, optional ones nullable, objects closed.
    #[value(name = "openai")]
    #[serde(rename = "openai")]
    OpenAi,
    /// Gemini: nullable instead of type arrays; no additionalProperties or exclusive bounds.
    Gemini,
}

/// What tools/list shows a signed-in caller, as `--list-tools` names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListTools {
    /// Every served tool, so that a client can step up to a scope it lacks.
    #[default]
    All,
    /// Only the tools the caller's token can use.
    Allowed,
}
