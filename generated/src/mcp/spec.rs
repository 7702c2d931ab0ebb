//! The static description of a tool that the generator writes for each route.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};

/// Everything the runtime needs to know about one tool, as generated from the manifest.
#[derive(Debug)]
pub struct ToolSpec {
    /// The name the MCP client calls the tool by.
    pub name: &'static str,
    /// A short human-readable title, for listings and summaries.
    pub title: &'static str,
    /// What the tool does and when to use it, written for the model that chooses tools.
    pub description: &'static str,
    /// The OAuth scope a caller needs.
    pub scope: &'static str,
    /// The operationId the tool calls, for logs.
    pub operation: &'static str,
    /// What the tool's effects are like, for clients that ask before running risky tools.
    pub hints: ToolHints,
    /// Whether to send progress notifications when the client asks for them.
    pub progress: bool,
    /// Every argument of the tool, hidden ones included, and where each goes in the request.
    pub arguments: &'static [ArgumentSpec],
    /// How calls are made safe to retry and to repeat, for a tool that sends or writes.
    pub safety: Safety,
    /// JSON Schema of the arguments, with every constraint of the spec.
    pub input_schema: &'static str,
    /// JSON Schema of `structuredContent`.
    pub output_schema: &'static str,
}

/// The MCP tool annotations of a tool, as the manifest states them.
#[derive(Debug, Clone, Copy)]
pub struct ToolHints {
    /// The tool changes nothing.
    pub read_only: bool,
    /// The tool may delete or overwrite data, not only add to it.
    pub destructive: bool,
    /// Calling the tool again with the same arguments has no further effect.
    pub idempotent: bool,
    /// The tool acts on a world outside the server's control, such as the phones a message reaches.
    pub open_world: bool,
}

/// The safety of a tool that sends or writes, as the manifest's `[tool.safety]` states it.
#[derive(Debug, Clone, Copy)]
pub struct Safety {
    /// The tool takes an `idempotency_key`: a retry with the same key returns the first result.
    pub idempotency: bool,
    /// The arguments whose equal values make a call a repeat; empty for no repeat guard.
    pub repeat_fingerprint: &'static [&'static str],
    /// How a call with an unknown outcome is looked up upstream before sending again.
    pub reconcile: Option<Reconcile>,
    /// Ask the user to confirm before the call, when the client can be asked.
    pub confirm: bool,
}

/// The lookups the runtime knows for calls with an unknown outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconcile {
    /// Find the message upstream by its sender, recipients and body.
    SentMessages,
}

/// One argument of a tool: its names on both sides and where it goes in the HTTP request.
#[derive(Debug)]
pub struct ArgumentSpec {
    /// The name the MCP client uses.
    pub name: &'static str,
    /// The name in the HTTP request.
    pub wire_name: &'static str,
    /// Where the argument goes in the HTTP request.
    pub location: Location,
    /// Whether the argument is kept out of the tool's schema and always sent as `fixed`.
    pub hidden: bool,
    /// JSON text of the value used when the caller leaves the argument out.
    pub default: Option<&'static str>,
    /// JSON text of the value always sent for a hidden argument.
    pub fixed: Option<&'static str>,
    /// What the runtime itself does with the argument, if anything.
    pub role: Option<Role>,
}

/// Where an argument goes in the HTTP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A parameter in the URL's path.
    Path,
    /// A parameter in the URL's query string.
    Query,
    /// A request header.
    Header,
    /// One field of a JSON object body.
    BodyField,
    /// The whole body.
    Body,
}

/// A part an argument plays in the runtime, beyond being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The phone number a message is sent from, which the host may route on.
    Sender,
    /// The SMS provider, which the host chooses and the schema narrows to the enabled ones.
    Provider,
    /// The phone numbers a message is sent to.
    Recipients,
    /// The text of a message, whose cost in SMS segments the result tells.
    MessageBody,
    /// Whom a broadcast reaches, such as a contact list; the user confirming it sees it.
    Audience,
    /// When a message is scheduled to go out; the user confirming it sees it.
    SendAt,
}

impl ToolSpec {
    /// The JSON Schema of the arguments, parsed.
    pub fn input_schema(&self) -> JsonObject {
        parse_schema(self.name, "input", self.input_schema)
    }

    /// The JSON Schema of `structuredContent`, parsed.
    pub fn output_schema(&self) -> JsonObject {
        parse_schema(self.name, "output", self.output_schema)
    }

    /// The tool as `tools/list` shows it.
    pub fn tool(&self) -> Tool {
        let hints = self.hints;
        Tool::new(self.name, self.description, self.input_schema())
            .with_title(self.title)
            .with_raw_output_schema(Arc::new(self.output_schema()))
            .with_annotations(
                ToolAnnotations::with_title(self.title)
                    .read_only(hints.read_only)
                    .destructive(hints.destructive)
                    .idempotent(hints.idempotent)
                    .open_world(hints.open_world),
            )
    }

    /// The argument that plays `role`, if the tool has one.
    pub fn argument_with_role(&self, role: Role) -> Option<&'static ArgumentSpec> {
        self.arguments.iter().find(|argument| argument.role == Some(role))
    }

    /// The argument sent at `location` under `wire_name`, if the tool has one.
    pub fn argument_by_wire_name(&self, location: Location, wire_name: &str) -> Option<&'static ArgumentSpec> {
        self.arguments.iter().find(|argument| argument.location == location && argument.wire_name == wire_name)
    }
}

/// The schemas are written by the generator and checked by its tests, so a parse failure
/// is a generator bug that must stop the server at start-up, not a runtime condition.
fn parse_schema(tool: &str, which: &str, text: &str) -> JsonObject {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(object)) => object,
        other => panic!("the generated {which} schema of `{tool}` is not a JSON object ({other:?}); regenerate with `cargo codegen`"),
    }
}
