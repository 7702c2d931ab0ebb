//! A tool's input and output JSON Schemas, as MCP clients see them in `tools/list`.

use serde_json::{Map, Value, json};

use super::{ArgumentPlan, SafetyPlan};
use crate::diagnostics::Diagnostic;
use crate::schema::{Inliner, drop_marked_properties};
use crate::spec::{Operation, Spec, Success};

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
/// plus what the runtime adds to the result, as the shape a client checks `structuredContent`
/// against (see [`shape_of_results`]).
pub(super) fn output_schema(
    spec: &Spec,
    operation: &Operation,
    inliner: &mut Inliner,
    additions: ResultAdditions,
) -> Result<Value, Diagnostic> {
    let keys: Vec<&str> = operation.yaml_keys.iter().map(String::as_str).chain(["responses"]).collect();
    let mut schema = match &operation.success {
        Success::Json(success) => {
            let mut schema = inliner.inline(success, &keys)?;
            drop_marked_properties(&mut schema, "writeOnly");
            schema
        }
        // An answer without a body, or with text, becomes an object the runtime writes.
        Success::Empty => json!({"type": "object", "properties": {"status": {"type": "integer"}}, "required": ["status"]}),
        Success::Text => json!({
            "type": "object",
            "properties": {"status": {"type": "integer"}, "text": {"type": "string"}},
            "required": ["status", "text"]
        }),
        Success::Bytes => {
            return Err(spec
                .diagnostic(
                    &keys,
                    format!("operation `{}` answers with a body that is neither JSON nor text; a tool cannot return it", operation.id),
                )
                .with_help("leave the operation to the SDK, which returns the bytes as a stream"));
        }
    };
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(spec
            .diagnostic(&keys, format!("operation `{}` answers a non-object; MCP structured results must be objects", operation.id))
            .with_help("wrap the answer in an envelope object, as Clerk Chat's `{data: ...}`"));
    }
    let properties = schema["properties"].as_object_mut().expect("object schemas built by the inliner have properties");
    // The meaning of these fields is in the README's section on results: no model reads an
    // output schema (see `shape_of_results`).
    if additions.cost {
        properties.insert(
            "cost".to_owned(),
            json!({
                "type": "object",
                "properties": {
                    "segments": {"type": "integer"},
                    "encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]},
                    "characters": {"type": "integer"},
                    "recipients": {"type": "integer"}
                },
                "required": ["segments", "encoding", "characters"]
            }),
        );
    }
    if additions.outcome {
        properties.insert("outcome".to_owned(), json!({"type": "string"}));
    }
    if additions.provider_selection {
        properties.insert(
            "provider_selection".to_owned(),
            json!({
                "type": "object",
                "properties": {"provider": {"type": "string"}, "reason": {"type": "string"}},
                "required": ["provider", "reason"]
            }),
        );
    }
    shape_of_results(&mut schema);
    Ok(schema)
}

/// Keywords that document a value or refine its format but do not change which JSON shapes a
/// client accepts as `structuredContent`.
const DOCUMENTING_KEYWORDS: [&str; 9] =
    ["description", "title", "examples", "default", "deprecated", "format", "minimum", "maximum", "multipleOf"];

/// Reduces an output schema to the shape of the results: types, properties, `required`, enums
/// and the structure of items. The Anthropic and OpenAI tool definitions carry only a tool's
/// input schema, so no model reads an output schema; clients use it to check
/// `structuredContent`, and every `tools/list` pays for its bytes (the descriptions stay in
/// the SDK's docs). A nullable field that its object does not require is left out of a result
/// rather than set to `null` (the runtime's `mcp::results` walks properties and items the same
/// way), so its type says only what it is when present.
pub(crate) fn shape_of_results(schema: &mut Value) {
    shape_of(schema, true);
}

/// `walked` says whether the runtime leaves out this schema's optional nulls: it walks only
/// through properties and items, so below a union member or a map the `null`s stay.
fn shape_of(schema: &mut Value, walked: bool) {
    let Value::Object(object) = schema else { return };
    for keyword in DOCUMENTING_KEYWORDS {
        object.remove(keyword);
    }
    let required: Vec<String> =
        object.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect();
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            if walked && !required.contains(name) {
                never_null(property);
            }
            shape_of(property, walked);
        }
    }
    if let Some(items) = object.get_mut("items") {
        shape_of(items, walked);
    }
    if let Some(additional) = object.get_mut("additionalProperties") {
        shape_of(additional, false);
    }
    for keyword in ["oneOf", "anyOf", "allOf"] {
        for member in object.get_mut(keyword).and_then(Value::as_array_mut).into_iter().flatten() {
            shape_of(member, false);
        }
    }
}

/// Takes `null` out of what a property may be, undoing `make_nullable`'s three forms.
fn never_null(property: &mut Value) {
    let Value::Object(object) = property else { return };
    if let Some(Value::Array(types)) = object.get("type") {
        let kept: Vec<Value> = types.iter().filter(|kind| kind.as_str() != Some("null")).cloned().collect();
        let kept = if kept.len() == 1 { kept[0].clone() } else { Value::Array(kept) };
        object.insert("type".to_owned(), kept);
    }
    if let Some(Value::Array(values)) = object.get_mut("enum") {
        values.retain(|value| !value.is_null());
    }
    let only_member = match object.get("anyOf").and_then(Value::as_array) {
        Some(members) if object.len() == 1 && members.len() == 2 && members.contains(&json!({"type": "null"})) => {
            members.iter().find(|member| **member != json!({"type": "null"})).cloned()
        }
        _ => None,
    };
    if let Some(member) = only_member {
        *property = member;
    }
}
