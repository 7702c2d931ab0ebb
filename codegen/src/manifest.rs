//! The tool manifest (`openapi/tools.toml`): which operations become tools, and how.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_spanned::Spanned;

use crate::diagnostics::{Diagnostic, Diagnostics, did_you_mean, line_of_offset};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManifestFile {
    #[serde(default)]
    pub(crate) tool: Vec<Spanned<ToolEntry>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolEntry {
    pub(crate) name: Spanned<String>,
    pub(crate) operation: Spanned<String>,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) scope: Spanned<String>,
    pub(crate) annotations: Annotations,
    /// Send progress notifications around the upstream call when the client asks for them.
    #[serde(default)]
    pub(crate) progress: bool,
    /// The argument name of a body that is not an object (an array, say); default `body`.
    pub(crate) body_argument: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) arguments: IndexMap<Spanned<String>, Spanned<ArgumentEntry>>,
    /// How calls that reach people or write data are made safe to retry and to repeat.
    pub(crate) safety: Option<Spanned<Safety>>,
}

/// The safety of a tool that sends or writes: `[tool.safety]` in the manifest.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Safety {
    /// The tool takes an `idempotency_key`: a retry with the same key returns the first
    /// call's result instead of calling again.
    #[serde(default)]
    pub(crate) idempotency: bool,
    /// The tool arguments whose equal values make a call a repeat: refused within the repeat
    /// window unless the caller says `allow_repeat`.
    #[serde(default)]
    pub(crate) repeat_fingerprint: Vec<Spanned<String>>,
    /// How a call whose outcome is unknown (a timeout after sending) is looked up upstream
    /// before anything is sent again.
    pub(crate) reconcile: Option<Spanned<Reconcile>>,
    /// Ask the user to confirm (MCP elicitation) before the call, when the client can.
    #[serde(default)]
    pub(crate) confirm: bool,
}

/// The lookups the runtime knows for calls with an unknown outcome.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Reconcile {
    /// Find the message upstream by its sender, recipients and body, sent since the first attempt.
    SentMessages,
}

/// All four are required, so every tool states every hint instead of inheriting the
/// MCP defaults (destructive and open-world), which are wrong for reads.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Annotations {
    pub(crate) read_only: bool,
    pub(crate) destructive: bool,
    pub(crate) idempotent: bool,
    pub(crate) open_world: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArgumentEntry {
    pub(crate) rename: Option<Spanned<String>>,
    pub(crate) description: Option<String>,
    pub(crate) default: Option<toml::Value>,
    #[serde(default)]
    pub(crate) hidden: bool,
    pub(crate) fixed: Option<toml::Value>,
    pub(crate) role: Option<Spanned<Role>>,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    /// The phone number a message goes out from; routes pick a provider by it.
    Sender,
    /// The SMS provider; the runtime chooses it when the caller leaves it out.
    Provider,
    /// The phone numbers a message goes to.
    Recipients,
    /// The text of a message; the runtime tells its cost in SMS segments.
    MessageBody,
    /// Whom a broadcast reaches, such as a contact list; shown when the user confirms it.
    Audience,
    /// When a message is scheduled to go out; shown when the user confirms it.
    SendAt,
}

#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    pub(crate) file: String,
    pub(crate) text: String,
    pub(crate) tools: Vec<Spanned<ToolEntry>>,
}

impl Manifest {
    pub(crate) fn load(file: &str, text: &str) -> Result<Manifest, Diagnostics> {
        let parsed: ManifestFile = toml::from_str(text).map_err(|error| {
            let line = error.span().map(|span| line_of_offset(text, span.start));
            let message = error.message().trim().to_owned();
            let help = suggestion_for_unknown_field(&message);
            Diagnostic::new(file, line, format!("invalid manifest: {message}")).with_optional_help(help)
        })?;
        Ok(Manifest { file: file.to_owned(), text: text.to_owned(), tools: parsed.tool })
    }

    pub(crate) fn line<T>(&self, spanned: &Spanned<T>) -> Option<usize> {
        Some(line_of_offset(&self.text, spanned.span().start))
    }

    pub(crate) fn diagnostic<T>(&self, at: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.file, self.line(at), message)
    }
}

/// serde reports "unknown field `x`, expected one of `a`, `b`"; this picks the closest.
fn suggestion_for_unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (wrong, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    did_you_mean(wrong, candidates)
}

/// A TOML value as JSON, for defaults and fixed values.
pub(crate) fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(text) => serde_json::Value::String(text.clone()),
        toml::Value::Integer(number) => serde_json::Value::from(*number),
        toml::Value::Float(number) => serde_json::Value::from(*number),
        toml::Value::Boolean(flag) => serde_json::Value::Bool(*flag),
        toml::Value::Datetime(datetime) => serde_json::Value::String(datetime.to_string()),
        toml::Value::Array(items) => serde_json::Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => serde_json::Value::Object(table.iter().map(|(key, item)| (key.clone(), toml_to_json(item))).collect()),
    }
}
