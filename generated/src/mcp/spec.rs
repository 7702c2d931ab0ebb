//! The static description of a tool that the generator writes for each route.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};

/// Everything the runtime needs to know about one tool, as generated from the manifest.
#[derive(Debug)]
pub struct ToolSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// The OAuth scope a caller needs.
    pub scope: &'static str,
    /// The operationId the tool calls, for logs.
    pub operation: &'static str,
    pub hints: ToolHints,
    /// Whether to send progress notifications when the client asks for them.
    pub progress: bool,
    pub arguments: &'static [ArgumentSpec],
    /// JSON Schema of the arguments, with every constraint of the spec.
    pub input_schema: &'static str,
    /// JSON Schema of `structuredContent`.
    pub output_schema: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct ToolHints {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

#[derive(Debug)]
pub struct ArgumentSpec {
    /// The name the MCP client uses.
    pub name: &'static str,
    /// The name in the HTTP request.
    pub wire_name: &'static str,
    pub location: Location,
    pub hidden: bool,
    /// JSON text of the value used when the caller leaves the argument out.
    pub default: Option<&'static str>,
    /// JSON text of the value always sent for a hidden argument.
    pub fixed: Option<&'static str>,
    pub role: Option<Role>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    BodyField,
    Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Sender,
    Provider,
}

impl ToolSpec {
    pub fn input_schema(&self) -> JsonObject {
        parse_schema(self.name, "input", self.input_schema)
    }

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

    pub fn argument_with_role(&self, role: Role) -> Option<&'static ArgumentSpec> {
        self.arguments.iter().find(|argument| argument.role == Some(role))
    }

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
