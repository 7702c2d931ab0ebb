//! `clerk-mcp connect CLIENT`: exactly what to paste or run to add this server, with its
//! current settings, to Claude Code, Claude Desktop, Cursor or VS Code. The formats are each
//! client's own: `claude mcp add` (docs.anthropic.com/en/docs/claude-code/mcp), Claude
//! Desktop's `claude_desktop_config.json` `mcpServers` (modelcontextprotocol.io/quickstart/user;
//! remote servers only through Settings > Connectors, support.anthropic.com/en/articles/11503834),
//! Cursor's `mcp.json` `mcpServers` with `url` or `command` (cursor.com/docs/mcp), and VS Code's
//! `.vscode/mcp.json` `servers` with `type` (code.visualstudio.com/docs/copilot/chat/mcp-servers).

use std::path::Path;

use serde_json::{Value, json};

use crate::CONFIGURATION_NAME as SERVER_NAME;
use crate::config::{ConnectClient, Settings};

/// How the client reaches the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// The client starts `binary stdio` itself.
    Stdio,
    /// The client connects to this streamable HTTP URL.
    Http(String),
}

/// The URL a client reaches this server's MCP endpoint at, from the settings.
pub fn mcp_url(settings: &Settings) -> String {
    match settings.auth.public_url() {
        Some(public) => format!("{}/mcp", public.trim_end_matches('/')),
        None => format!("http://{}/mcp", settings.listen),
    }
}

/// What to paste or run, for `client`, reaching the server by `transport`; `binary` is this
/// program's absolute path, for clients that start it.
pub fn snippet(client: ConnectClient, transport: &Transport, settings: &Settings, binary: &Path) -> String {
    let command = binary.display().to_string();
    let args = stdio_args(client, settings);
    // The key is never printed: a client that starts the server against Clerk Chat needs it in
    // its environment, so the snippet names the variable with a placeholder.
    let environment = settings.upstream.is_some().then(|| json!({"CLERK_API_KEY": "<your Clerk Chat API key>"}));
    match (client, transport) {
        (ConnectClient::ClaudeCode, Transport::Http(url)) => format!("claude mcp add --transport http {SERVER_NAME} {url}\n"),
        (ConnectClient::ClaudeCode, Transport::Stdio) => {
            let env = if environment.is_some() { " --env 'CLERK_API_KEY=<your Clerk Chat API key>'" } else { "" };
            format!(
                "claude mcp add{env} {SERVER_NAME} -- {} {}\n",
                shell_word(&command),
                args.iter().map(|arg| shell_word(arg)).collect::<Vec<_>>().join(" ")
            )
        }
        (ConnectClient::ClaudeDesktop, Transport::Http(url)) => format!(
            "Claude Desktop adds remote servers in Settings > Connectors > Add custom connector, not in its config file.\nURL: {url}\n"
        ),
        (ConnectClient::ClaudeDesktop | ConnectClient::Cursor, Transport::Stdio) => {
            let mut server = json!({"command": command, "args": args});
            if let Some(environment) = environment {
                server["env"] = environment;
            }
            pretty(json!({"mcpServers": {SERVER_NAME: server}}))
        }
        (ConnectClient::Cursor, Transport::Http(url)) => pretty(json!({"mcpServers": {SERVER_NAME: {"url": url}}})),
        (ConnectClient::VsCode, Transport::Http(url)) => pretty(json!({"servers": {SERVER_NAME: {"type": "http", "url": url}}})),
        (ConnectClient::VsCode, Transport::Stdio) => {
            let mut server = json!({"type": "stdio", "command": command, "args": args});
            if let Some(environment) = environment {
                server["env"] = environment;
            }
            pretty(json!({"servers": {SERVER_NAME: server}}))
        }
    }
}

/// `stdio` and the settings that make the started server this one: its data directory, its
/// upstream, its choice of tools, and the client profile of the client it is for.
fn stdio_args(client: ConnectClient, settings: &Settings) -> Vec<String> {
    // The client starts the server from its own working directory: the path must be absolute.
    let data_dir = std::path::absolute(&settings.data_dir).unwrap_or_else(|_| settings.data_dir.clone());
    let mut args = vec!["stdio".to_owned(), "--data-dir".to_owned(), data_dir.display().to_string()];
    if let Some(upstream) = &settings.upstream {
        args.extend(["--upstream".to_owned(), upstream.clone()]);
    }
    args.extend(settings.tools.selection_args());
    let profile = match client {
        ConnectClient::ClaudeCode | ConnectClient::ClaudeDesktop => Some("claude"),
        ConnectClient::Cursor => Some("cursor"),
        ConnectClient::VsCode => None,
    };
    if let Some(profile) = profile {
        args.extend(["--client".to_owned(), profile.to_owned()]);
    }
    args
}

fn pretty(value: Value) -> String {
    serde_json::to_string_pretty(&value).expect("JSON values serialize") + "\n"
}

/// A word as a POSIX shell reads it: quoted when it holds anything but safe characters.
fn shell_word(word: &str) -> String {
    let safe = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "/._-:=+,@".contains(c));
    if safe { word.to_owned() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}
