//! A tool's input and output JSON Schemas, as MCP clients see them in `tools/list`.

use serde_json::{Map, Value, json};

use super::ArgumentPlan;
use crate::diagnostics::Diagnostic;
use crate::schema::Inliner;
use crate::spec::{Operation, Spec};

/// The input schema: an object of the visible arguments, closed to others so that a client's
/// misspelt argument is refused instead of silently dropped.
pub(super) fn input_schema(arguments: &[ArgumentPlan]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for argument in arguments.iter().filter(|argument| !argument.hidden) {
        properties.insert(argument.name.clone(), argument.schema.clone());
        if argument.required {
            required.push(json!(argument.name));
        }
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

/// The output schema: the operation's success response, which MCP requires to be an object,
/// plus the provider choice that the runtime adds to the result when the tool has a
/// provider argument.
pub(super) fn output_schema(spec: &Spec, operation: &Operation, inliner: &mut Inliner, has_provider: bool) -> Result<Value, Diagnostic> {
    let keys: Vec<&str> = operation.yaml_keys.iter().map(String::as_str).chain(["responses"]).collect();
    let mut schema = inliner.inline(&operation.success, &keys)?;
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(spec
            .diagnostic(&keys, format!("operation `{}` answers a non-object; MCP structured results must be objects", operation.id))
            .with_help("wrap the answer in an envelope object, as Clerk Chat's `{data: ...}`"));
    }
    if has_provider {
        let properties = schema["properties"].as_object_mut().expect("object schemas built by the inliner have properties");
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
