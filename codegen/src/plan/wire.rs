//! The arguments an operation offers on the wire (its parameters and body), before the
//! manifest renames, hides or defaults any of them.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::ArgumentLocation;
use crate::diagnostics::Diagnostic;
use crate::manifest::ToolEntry;
use crate::schema::{Inliner, drop_marked_properties};
use crate::spec::{BodyEncoding, Operation, ParameterLocation};

/// One argument the operation offers, before the manifest's mapping.
pub(super) struct WireArgument {
    pub(super) wire_name: String,
    pub(super) location: ArgumentLocation,
    pub(super) required: bool,
    pub(super) schema: Value,
}

/// The operation's path, query and header parameters, then its body (JSON, form or text: the
/// SDK encodes it): one argument per property of
/// an object body, or one argument for the whole body otherwise (named by the manifest's
/// `body_argument`, `body` by default). Schemas are inlined, so they are self-contained.
pub(super) fn wire_arguments(operation: &Operation, tool: &ToolEntry, inliner: &mut Inliner) -> Result<Vec<WireArgument>, Diagnostic> {
    let mut found = Vec::new();
    for parameter in &operation.parameters {
        let name_key = format!("name: {}", parameter.name);
        let keys: Vec<&str> = operation.yaml_keys.iter().map(String::as_str).chain(["parameters", name_key.as_str(), "schema"]).collect();
        let mut schema = inliner.inline(&parameter.schema, &keys)?;
        drop_marked_properties(&mut schema, "readOnly");
        if let (Some(description), Some(object)) = (&parameter.description, schema.as_object_mut()) {
            object.entry("description").or_insert_with(|| json!(description));
        }
        found.push(WireArgument {
            wire_name: parameter.name.clone(),
            location: match parameter.location {
                ParameterLocation::Path => ArgumentLocation::Path,
                ParameterLocation::Query => ArgumentLocation::Query,
                ParameterLocation::Header => ArgumentLocation::Header,
            },
            required: parameter.required,
            schema,
        });
    }
    if let Some(body) = &operation.body {
        let keys: Vec<&str> = operation.yaml_keys.iter().map(String::as_str).chain(["requestBody"]).collect();
        if matches!(body.encoding, BodyEncoding::Bytes) {
            let operation_keys: Vec<&str> = operation.yaml_keys.iter().map(String::as_str).collect();
            return Err(inliner
                .spec()
                .diagnostic(&operation_keys, format!("operation `{}` takes a binary body; a tool cannot send one", operation.id))
                .with_help("leave the operation to the SDK, whose builder takes the bytes"));
        }
        let mut schema = inliner.inline(&body.schema, &keys)?;
        // A read-only property is the server's to set: not an argument. progenitor's request
        // type still demands a required one, so such a body cannot be built from arguments.
        let required_read_only = schema["properties"].as_object().into_iter().flatten().find(|(name, property)| {
            property.get("readOnly") == Some(&json!(true))
                && schema["required"].as_array().is_some_and(|required| required.contains(&json!(name)))
        });
        if let Some((name, _)) = required_read_only {
            return Err(inliner
                .spec()
                .diagnostic(
                    &keys,
                    format!(
                        "body property `{name}` is read-only and required; progenitor's request type needs it, but a client may not send it"
                    ),
                )
                .with_help("make the property optional in the request body's schema, or use a request schema without it"));
        }
        drop_marked_properties(&mut schema, "readOnly");
        let properties = schema.get("properties").and_then(Value::as_object).filter(|properties| !properties.is_empty());
        match properties {
            Some(properties) if schema.get("type").and_then(Value::as_str) == Some("object") => {
                let required: BTreeSet<&str> =
                    schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
                for (name, property) in properties {
                    found.push(WireArgument {
                        wire_name: name.clone(),
                        location: ArgumentLocation::BodyField,
                        required: required.contains(name.as_str()),
                        schema: property.clone(),
                    });
                }
            }
            _ => {
                let name = tool.body_argument.as_ref().map(|name| name.get_ref().clone()).unwrap_or_else(|| "body".to_owned());
                found.push(WireArgument { wire_name: name, location: ArgumentLocation::Body, required: true, schema });
            }
        }
    }
    Ok(found)
}
