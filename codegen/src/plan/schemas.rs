//! A tool's input and output JSON Schemas, as MCP clients see them in `tools/list`.

use serde_json::{Map, Value, json};

use super::{ArgumentPlan, SafetyPlan};
use crate::diagnostics::Diagnostic;
use crate::schema::Inliner;
use crate::spec::{Operation, Spec};

/// The input schema: an object of the visible arguments and, after them, the control arguments
/// of the tool's safety, closed to others so that a client's misspelt argument is refused
/// instead of silently dropped.
pub(super) fn input_schema(arguments: &[ArgumentPlan], safety: &SafetyPlan) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for argument in arguments.iter().filter(|argument| !argument.hidden) {
        properties.insert(argument.name.clone(), argument.schema.clone());
        if argument.required {
            required.push(json!(argument.name));
        }
    }
    for (name, schema) in safety.control_arguments() {
        properties.insert(name.to_owned(), schema);
    }
    let mut schema = Map::new();
    schema.insert("type".to_owned(), json!("object"));
    schema.insert("properties".to_owned(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".to_owned(), Value::Array(required));
    }
    schema.insert("additionalProperties".to_owned(), json!(false));
    Value::Object(schema)
}

/// What the runtime adds to a tool's result, so that its output schema says so.
#[derive(Debug, Clone, Copy)]
pub(super) struct ResultAdditions {
    /// The provider the runtime chose (a tool with a provider argument).
    pub(super) provider_selection: bool,
    /// The cost in SMS segments (a tool with a message body).
    pub(super) cost: bool,
    /// How a retried call was settled (a tool with idempotency or reconciliation).
    pub(super) outcome: bool,
}

/// The output schema: the operation's success response, which MCP requires to be an object,
/// plus what the runtime adds to the result.
pub(super) fn output_schema(
    spec: &Spec,
    operation: &Operation,
    inliner: &mut Inliner,
    additions: ResultAdditions,
) -> Result<Value, Diagnostic> {
    let keys: Vec<&str> = operation.yaml_keys.iter().map(String::as_str).chain(["responses"]).collect();
    let mut schema = inliner.inline(&operation.success, &keys)?;
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(spec
            .diagnostic(&keys, format!("operation `{}` answers a non-object; MCP structured results must be objects", operation.id))
            .with_help("wrap the answer in an envelope object, as Clerk Chat's `{data: ...}`"));
    }
    let properties = schema["properties"].as_object_mut().expect("object schemas built by the inliner have properties");
    if additions.cost {
        properties.insert(
            "cost".to_owned(),
            json!({
                "type": "object",
                "description": "What each message costs in SMS segments, worked out from its text. One character outside the GSM-7 alphabet (an emoji, most non-Latin scripts) makes the whole text UCS-2: 70 characters a segment instead of 160.",
                "properties": {
                    "segments": {"type": "integer", "description": "Segments each message takes; each is billed."},
                    "encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"], "description": "The encoding the text needs."},
                    "characters": {"type": "integer", "description": "The text's length in the encoding's units (septets or UTF-16 units)."},
                    "recipients": {"type": "integer", "description": "How many recipients get the message, when the call names them."}
                },
                "required": ["segments", "encoding", "characters"]
            }),
        );
    }
    if additions.outcome {
        properties.insert(
            "outcome".to_owned(),
            json!({
                "type": "string",
                "description": "Set when a retried call was settled without sending again: the earlier attempt's message was found upstream."
            }),
        );
    }
    if additions.provider_selection {
        properties.insert(
            "provider_selection".to_owned(),
            json!({
                "type": "object",
                "description": "Which SMS provider the server chose for this call, and why.",
                "properties": {
                    "provider": {"type": "string", "description": "The provider the request was sent with."},
                    "reason": {"type": "string", "description": "Why: the explicit argument, the route for the sender number, or the server's default."}
                },
                "required": ["provider", "reason"]
            }),
        );
    }
    Ok(schema)
}
