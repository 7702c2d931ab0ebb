//! Joins the spec and the manifest into one plan per tool: its arguments, schemas and SDK call.

use std::collections::{BTreeMap, BTreeSet};

use heck::{ToSnakeCase, ToUpperCamelCase};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use crate::manifest::{Annotations, ArgumentEntry, Manifest, Role, ToolEntry, toml_to_json};
use crate::schema::Inliner;
use crate::sdk::GeneratedSdk;
use crate::spec::{Operation, ParameterLocation, Spec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgumentLocation {
    Path,
    Query,
    /// One property of an object body.
    BodyField,
    /// The whole body, when it is not an object with properties.
    Body,
}

#[derive(Debug, Clone)]
pub struct ArgumentPlan {
    /// The name the MCP client sees.
    pub name: String,
    /// The name on the wire: the parameter or body property of the spec.
    pub wire_name: String,
    pub location: ArgumentLocation,
    /// Required in the tool's input schema (a default makes an argument optional).
    pub required: bool,
    pub hidden: bool,
    pub fixed: Option<Value>,
    pub default: Option<Value>,
    pub role: Option<Role>,
    pub schema: Value,
    /// For path and query arguments: the SDK builder setter and its Rust type.
    pub setter: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct ToolPlan {
    pub name: String,
    pub title: String,
    pub description: String,
    pub scope: String,
    pub annotations: Annotations,
    pub progress: bool,
    pub operation_id: String,
    pub method: String,
    pub path: String,
    pub client_method: String,
    /// The Rust type of the request body, as progenitor named it.
    pub body_type: Option<String>,
    pub arguments: Vec<ArgumentPlan>,
    pub input_schema: Value,
    pub output_schema: Value,
}

/// Tool and argument names: what MCP clients and LLM APIs accept everywhere.
fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

fn is_valid_argument_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

/// One argument the operation offers, before the manifest's mapping.
struct WireArgument {
    wire_name: String,
    location: ArgumentLocation,
    required: bool,
    schema: Value,
}

pub fn plan_tools(spec: &Spec, manifest: &Manifest, sdk: &GeneratedSdk) -> Result<Vec<ToolPlan>, Diagnostics> {
    let mut problems = Vec::new();
    let mut plans = Vec::new();
    let mut names_seen: BTreeMap<String, Option<usize>> = BTreeMap::new();
    for tool in &manifest.tools {
        let name = tool.get_ref().name.get_ref();
        if !is_valid_tool_name(name) {
            problems.push(
                manifest
                    .diagnostic(&tool.get_ref().name, format!("tool name `{name}` is not 1 to 64 characters of A-Z, a-z, 0-9, `_` and `-`"))
                    .with_help(format!("MCP clients and LLM APIs reject other names; try `{}`", sanitize_tool_name(name))),
            );
        }
        if let Some(first_line) = names_seen.insert(name.clone(), manifest.line(&tool.get_ref().name)) {
            problems.push(
                manifest
                    .diagnostic(&tool.get_ref().name, format!("tool `{name}` is defined twice (first on line {})", first_line.unwrap_or(0)))
                    .with_help("tool names must be unique; rename or remove one"),
            );
        }
        match plan_tool(spec, manifest, sdk, tool.get_ref()) {
            Ok(plan) => plans.push(plan),
            Err(mut found) => problems.append(&mut found),
        }
    }
    if problems.is_empty() { Ok(plans) } else { Err(Diagnostics(problems)) }
}

fn sanitize_tool_name(name: &str) -> String {
    let cleaned: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    let cleaned = if cleaned.is_empty() { "tool".to_owned() } else { cleaned };
    cleaned.chars().take(64).collect()
}

fn plan_tool(spec: &Spec, manifest: &Manifest, sdk: &GeneratedSdk, tool: &ToolEntry) -> Result<ToolPlan, Vec<Diagnostic>> {
    let operation_id = tool.operation.get_ref();
    let Some(operation) = spec.operation(operation_id) else {
        return Err(vec![
            manifest
                .diagnostic(&tool.operation, format!("unknown operation `{operation_id}` in {}", spec.file))
                .with_optional_help(spec.suggest_operation(operation_id)),
        ]);
    };
    let mut problems = Vec::new();
    let mut inliner = Inliner::new(spec);
    let operation_keys: Vec<&str> = operation.yaml_keys.iter().map(String::as_str).collect();
    let wire_arguments = match wire_arguments(operation, tool, &mut inliner) {
        Ok(found) => found,
        Err(problem) => return Err(vec![problem]),
    };

    // Match the manifest's argument entries to the operation's arguments.
    let mut entries: Vec<Option<&ArgumentEntry>> = vec![None; wire_arguments.len()];
    for (key, entry) in &tool.arguments {
        let (wanted_location, wanted_name) = split_qualified_key(key.get_ref());
        let matching: Vec<usize> = wire_arguments
            .iter()
            .enumerate()
            .filter(|(_, wire)| {
                wire.wire_name == wanted_name && wanted_location.is_none_or(|location| location == location_word(wire.location))
            })
            .map(|(index, _)| index)
            .collect();
        match matching.as_slice() {
            [index] => entries[*index] = Some(entry.get_ref()),
            [] => {
                let known: Vec<String> = wire_arguments.iter().map(|wire| wire.wire_name.clone()).collect();
                problems.push(
                    manifest
                        .diagnostic(
                            key,
                            format!("tool `{}`: operation `{operation_id}` has no argument `{}`", tool.name.get_ref(), key.get_ref()),
                        )
                        .with_optional_help(
                            did_you_mean(wanted_name, known.iter().map(String::as_str))
                                .or_else(|| Some(format!("its arguments are: {}", known.join(", ")))),
                        ),
                );
            }
            several => {
                let places: Vec<String> =
                    several.iter().map(|index| format!("`{}:{}`", location_word(wire_arguments[*index].location), wanted_name)).collect();
                problems.push(
                    manifest
                        .diagnostic(
                            key,
                            format!("tool `{}`: `{wanted_name}` is ambiguous in operation `{operation_id}`", tool.name.get_ref()),
                        )
                        .with_help(format!("qualify the key with its location: {}", places.join(" or "))),
                );
            }
        }
    }

    let builder_name = operation_id.to_upper_camel_case();
    let builder_setters = sdk.setters.get(&builder_name);
    let mut arguments = Vec::new();
    let mut roles_seen: BTreeMap<Role, String> = BTreeMap::new();
    for (wire, entry) in wire_arguments.into_iter().zip(entries) {
        let entry = entry.cloned().unwrap_or_default();
        let name = entry.rename.as_ref().map(|rename| rename.get_ref().clone()).unwrap_or_else(|| wire.wire_name.to_snake_case());
        let at_entry = |message: String| -> Diagnostic {
            tool.arguments
                .iter()
                .find(|(key, _)| split_qualified_key(key.get_ref()).1 == wire.wire_name)
                .map(|(key, _)| manifest.diagnostic(key, message.clone()))
                .unwrap_or_else(|| manifest.diagnostic(&tool.name, message))
        };
        if !is_valid_argument_name(&name) {
            problems.push(at_entry(format!(
                "tool `{}`: argument name `{name}` must be 1 to 64 characters of A-Z, a-z, 0-9 and `_`, not starting with a digit",
                tool.name.get_ref()
            )));
        }
        let fixed = entry.fixed.as_ref().map(toml_to_json);
        if fixed.is_some() && !entry.hidden {
            problems.push(
                at_entry(format!("tool `{}`: argument `{name}` has a fixed value but is not hidden", tool.name.get_ref()))
                    .with_help("add `hidden = true`, or use `default` to let callers override it"),
            );
        }
        if entry.hidden && fixed.is_none() && wire.required {
            problems.push(at_entry(format!(
                "tool `{}`: argument `{name}` is required by the operation, so hiding it needs a `fixed` value",
                tool.name.get_ref()
            )));
        }
        let default = entry.default.as_ref().map(toml_to_json).or_else(|| wire.schema.get("default").cloned());
        let role = entry.role.as_ref().map(|role| *role.get_ref());
        if let Some(role) = role {
            if let Some(other) = roles_seen.insert(role, name.clone()) {
                problems.push(at_entry(format!(
                    "tool `{}`: both `{other}` and `{name}` have role `{}`; a tool has at most one of each role",
                    tool.name.get_ref(),
                    role_word(role)
                )));
            }
            if role == Role::Provider && !schema_is_string(&wire.schema) {
                problems.push(at_entry(format!("tool `{}`: the provider argument `{name}` must be a string", tool.name.get_ref())));
            }
        }
        let setter = match wire.location {
            ArgumentLocation::Path | ArgumentLocation::Query => {
                let setter_name = wire.wire_name.to_snake_case();
                match builder_setters.and_then(|setters| setters.get(&setter_name)) {
                    Some(rust_type) => Some((setter_name, rust_type.clone())),
                    None => {
                        problems.push(spec.diagnostic(
                            &operation_keys,
                            format!(
                                "progenitor's builder `{builder_name}` has no setter `{setter_name}` for parameter `{}`",
                                wire.wire_name
                            ),
                        ));
                        None
                    }
                }
            }
            _ => None,
        };
        let mut schema = wire.schema.clone();
        if let Some(description) = &entry.description {
            schema["description"] = json!(description);
        }
        if let Some(default) = &default {
            schema["default"] = default.clone();
        }
        arguments.push(ArgumentPlan {
            required: wire.required && default.is_none() && !entry.hidden,
            name,
            wire_name: wire.wire_name,
            location: wire.location,
            hidden: entry.hidden,
            fixed,
            default,
            role,
            schema,
            setter,
        });
    }

    let mut names: BTreeMap<&str, &ArgumentPlan> = BTreeMap::new();
    for argument in arguments.iter().filter(|argument| !argument.hidden) {
        if let Some(other) = names.insert(&argument.name, argument) {
            // Point at the manifest entry that made the clash, when one did (a rename).
            problems.push(
                at_argument_entry(
                    manifest,
                    tool,
                    &argument.wire_name,
                    argument.location,
                    format!(
                        "tool `{}`: argument `{}` comes from both {} `{}` and {} `{}`",
                        tool.name.get_ref(),
                        argument.name,
                        location_phrase(other.location),
                        other.wire_name,
                        location_phrase(argument.location),
                        argument.wire_name
                    ),
                )
                .with_help(format!(
                    "rename one, e.g. arguments.\"{}:{}\" = {{ rename = \"{}_{}\" }}",
                    location_word(argument.location),
                    argument.wire_name,
                    location_word(argument.location),
                    argument.name
                )),
            );
        }
    }

    let client_method = operation_id.to_snake_case();
    if !sdk.client_methods.contains(&client_method) {
        problems.push(
            spec.diagnostic(&operation_keys, format!("progenitor's client has no method `{client_method}` for operation `{operation_id}`")),
        );
    }
    let body_type = if operation.body.is_some() {
        match builder_setters.and_then(|setters| setters.get("body")) {
            Some(rust_type) => Some(rust_type.clone()),
            None => {
                problems.push(spec.diagnostic(&operation_keys, format!("progenitor's builder `{builder_name}` has no `body` setter")));
                None
            }
        }
    } else {
        None
    };

    let output_schema = match output_schema(spec, operation, &mut inliner, roles_seen.contains_key(&Role::Provider)) {
        Ok(schema) => schema,
        Err(problem) => {
            problems.push(problem);
            Value::Null
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let input_schema = input_schema(&arguments);
    Ok(ToolPlan {
        name: tool.name.get_ref().clone(),
        title: tool.title.trim().to_owned(),
        description: tool.description.trim().to_owned(),
        scope: tool.scope.get_ref().clone(),
        annotations: tool.annotations,
        progress: tool.progress,
        operation_id: operation_id.clone(),
        method: operation.method.clone(),
        path: operation.path.clone(),
        client_method,
        body_type,
        arguments,
        input_schema,
        output_schema,
    })
}

fn wire_arguments(operation: &Operation, tool: &ToolEntry, inliner: &mut Inliner) -> Result<Vec<WireArgument>, Diagnostic> {
    let mut found = Vec::new();
    for parameter in &operation.parameters {
        let name_key = format!("name: {}", parameter.name);
        let keys: Vec<&str> = operation.yaml_keys.iter().map(String::as_str).chain(["parameters", name_key.as_str(), "schema"]).collect();
        let mut schema = inliner.inline(&parameter.schema, &keys)?;
        if let (Some(description), Some(object)) = (&parameter.description, schema.as_object_mut()) {
            object.entry("description").or_insert_with(|| json!(description));
        }
        found.push(WireArgument {
            wire_name: parameter.name.clone(),
            location: match parameter.location {
                ParameterLocation::Path => ArgumentLocation::Path,
                ParameterLocation::Query => ArgumentLocation::Query,
            },
            required: parameter.required,
            schema,
        });
    }
    if let Some(body) = &operation.body {
        let keys: Vec<&str> = operation.yaml_keys.iter().map(String::as_str).chain(["requestBody"]).collect();
        let schema = inliner.inline(body, &keys)?;
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

fn input_schema(arguments: &[ArgumentPlan]) -> Value {
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

fn output_schema(spec: &Spec, operation: &Operation, inliner: &mut Inliner, has_provider: bool) -> Result<Value, Diagnostic> {
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

/// A diagnostic at the manifest entry that configures this argument (a key naming it, with or
/// without its location), or at the tool's name when no entry does.
fn at_argument_entry(manifest: &Manifest, tool: &ToolEntry, wire_name: &str, location: ArgumentLocation, message: String) -> Diagnostic {
    let entry = tool.arguments.keys().find(|key| {
        let (key_location, key_name) = split_qualified_key(key.get_ref());
        key_name == wire_name && key_location.is_none_or(|key_location| key_location == location_word(location))
    });
    match entry {
        Some(key) => manifest.diagnostic(key, message),
        None => manifest.diagnostic(&tool.name, message),
    }
}

fn split_qualified_key(key: &str) -> (Option<&str>, &str) {
    match key.split_once(':') {
        Some((location, name)) if ["path", "query", "body"].contains(&location) => (Some(location), name),
        _ => (None, key),
    }
}

fn location_word(location: ArgumentLocation) -> &'static str {
    match location {
        ArgumentLocation::Path => "path",
        ArgumentLocation::Query => "query",
        ArgumentLocation::BodyField | ArgumentLocation::Body => "body",
    }
}

fn location_phrase(location: ArgumentLocation) -> &'static str {
    match location {
        ArgumentLocation::Path => "path parameter",
        ArgumentLocation::Query => "query parameter",
        ArgumentLocation::BodyField => "body field",
        ArgumentLocation::Body => "the request body",
    }
}

fn role_word(role: Role) -> &'static str {
    match role {
        Role::Sender => "sender",
        Role::Provider => "provider",
    }
}

fn schema_is_string(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(kind)) => kind == "string",
        Some(Value::Array(kinds)) => kinds.contains(&json!("string")),
        _ => false,
    }
}
