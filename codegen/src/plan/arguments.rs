//! The manifest's side of a tool's arguments: which entry configures which wire argument,
//! what each argument becomes (its name, default, fixed value, role and schema), and the
//! checks that keep the resulting argument list usable by MCP clients.

use std::collections::BTreeMap;

use heck::ToSnakeCase;
use serde_json::{Value, json};
use serde_spanned::Spanned;

use super::sdk_calls::OperationBuilder;
use super::wire::WireArgument;
use super::{ArgumentLocation, ArgumentPlan};
use crate::diagnostics::{Diagnostic, did_you_mean};
use crate::manifest::{ArgumentEntry, Manifest, Role, ToolEntry, toml_to_json};

/// What planning each argument of one tool shares: the manifest to point diagnostics into,
/// the tool being planned, and the SDK builder to find setters in.
pub(super) struct ArgumentPlanningContext<'a> {
    pub(super) manifest: &'a Manifest,
    pub(super) tool: &'a ToolEntry,
    pub(super) builder: &'a OperationBuilder<'a>,
}

impl ArgumentPlanningContext<'_> {
    /// A diagnostic at the first manifest entry whose key names this wire argument, or at the
    /// tool's name when none does. The key's location is not compared, so with both `path:id`
    /// and `body:id` in the manifest the first of the two is named; that is a line off at
    /// worst, and keeping it keeps every diagnostic on the line it has always named.
    fn diagnostic_at_entry_named(&self, wire_name: &str, message: String) -> Diagnostic {
        match self.tool.arguments.keys().find(|key| split_qualified_key(key.get_ref()).1 == wire_name) {
            Some(key) => self.manifest.diagnostic(key, message),
            None => self.manifest.diagnostic(&self.tool.name, message),
        }
    }
}

fn is_valid_argument_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

/// For each wire argument, in order, the manifest entry that configures it, if any. A key
/// names an argument alone (`id`) or qualified by its location (`path:id`); a key that names
/// no argument, or more than one, is a problem.
pub(super) fn match_argument_entries<'tool>(
    manifest: &Manifest,
    tool: &'tool ToolEntry,
    wire_arguments: &[WireArgument],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Option<&'tool ArgumentEntry>> {
    let mut entries = vec![None; wire_arguments.len()];
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
            [] => problems.push(unknown_argument_diagnostic(manifest, tool, key, wanted_name, wire_arguments)),
            several => problems.push(ambiguous_argument_diagnostic(manifest, tool, key, wanted_name, several, wire_arguments)),
        }
    }
    entries
}

/// The key names no argument: suggest the closest one, or list them all when none is close.
fn unknown_argument_diagnostic(
    manifest: &Manifest,
    tool: &ToolEntry,
    key: &Spanned<String>,
    wanted_name: &str,
    wire_arguments: &[WireArgument],
) -> Diagnostic {
    let known: Vec<String> = wire_arguments.iter().map(|wire| wire.wire_name.clone()).collect();
    manifest
        .diagnostic(
            key,
            format!("tool `{}`: operation `{}` has no argument `{}`", tool.name.get_ref(), tool.operation.get_ref(), key.get_ref()),
        )
        .with_optional_help(
            did_you_mean(wanted_name, known.iter().map(String::as_str))
                .or_else(|| Some(format!("its arguments are: {}", known.join(", ")))),
        )
}

/// The key names arguments in several locations (a path `id` and a body `id`): offer the
/// qualified keys that would pick one.
fn ambiguous_argument_diagnostic(
    manifest: &Manifest,
    tool: &ToolEntry,
    key: &Spanned<String>,
    wanted_name: &str,
    matching: &[usize],
    wire_arguments: &[WireArgument],
) -> Diagnostic {
    let places: Vec<String> =
        matching.iter().map(|index| format!("`{}:{}`", location_word(wire_arguments[*index].location), wanted_name)).collect();
    manifest
        .diagnostic(
            key,
            format!("tool `{}`: `{wanted_name}` is ambiguous in operation `{}`", tool.name.get_ref(), tool.operation.get_ref()),
        )
        .with_help(format!("qualify the key with its location: {}", places.join(" or ")))
}

/// Plans every wire argument with its manifest entry, in the operation's order. An argument
/// without an entry keeps its wire name (in snake_case) and the spec's schema.
pub(super) fn plan_arguments(
    context: &ArgumentPlanningContext,
    wire_arguments: Vec<WireArgument>,
    entries: Vec<Option<&ArgumentEntry>>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<ArgumentPlan> {
    // A tool has at most one argument per role; this remembers which argument holds each so far.
    let mut role_holders: BTreeMap<Role, String> = BTreeMap::new();
    let mut arguments = Vec::new();
    for (wire, entry) in wire_arguments.into_iter().zip(entries) {
        let entry = entry.cloned().unwrap_or_default();
        arguments.push(plan_argument(context, wire, entry, &mut role_holders, problems));
    }
    arguments
}

/// One argument: its client-facing name, fixed value, default and role, each checked against
/// the wire argument, then its SDK setter and its schema.
fn plan_argument(
    context: &ArgumentPlanningContext,
    wire: WireArgument,
    entry: ArgumentEntry,
    role_holders: &mut BTreeMap<Role, String>,
    problems: &mut Vec<Diagnostic>,
) -> ArgumentPlan {
    let name = entry.rename.as_ref().map(|rename| rename.get_ref().clone()).unwrap_or_else(|| wire.wire_name.to_snake_case());
    let fixed = entry.fixed.as_ref().map(toml_to_json);
    check_argument_entry(context, &wire, &entry, &name, fixed.is_some(), problems);
    let default = entry.default.as_ref().map(toml_to_json).or_else(|| wire.schema.get("default").cloned());
    let role = entry.role.as_ref().map(|role| *role.get_ref());
    if let Some(role) = role {
        check_argument_role(context, &wire, &name, role, role_holders, problems);
    }
    let setter = context.builder.setter(&wire, problems);
    let schema = argument_schema(&wire.schema, &entry, default.as_ref());
    ArgumentPlan {
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
    }
}

/// The checks of one entry on its own: a name clients accept, and a fixed value exactly when
/// the argument is hidden (a hidden argument the operation requires needs a value to send).
fn check_argument_entry(
    context: &ArgumentPlanningContext,
    wire: &WireArgument,
    entry: &ArgumentEntry,
    name: &str,
    has_fixed_value: bool,
    problems: &mut Vec<Diagnostic>,
) {
    let tool_name = context.tool.name.get_ref();
    if !is_valid_argument_name(name) {
        problems.push(context.diagnostic_at_entry_named(
            &wire.wire_name,
            format!(
                "tool `{tool_name}`: argument name `{name}` must be 1 to 64 characters of A-Z, a-z, 0-9 and `_`, not starting with a digit"
            ),
        ));
    }
    if has_fixed_value && !entry.hidden {
        problems.push(
            context
                .diagnostic_at_entry_named(
                    &wire.wire_name,
                    format!("tool `{tool_name}`: argument `{name}` has a fixed value but is not hidden"),
                )
                .with_help("add `hidden = true`, or use `default` to let callers override it"),
        );
    }
    if entry.hidden && !has_fixed_value && wire.required {
        problems.push(context.diagnostic_at_entry_named(
            &wire.wire_name,
            format!("tool `{tool_name}`: argument `{name}` is required by the operation, so hiding it needs a `fixed` value"),
        ));
    }
}

/// The runtime finds the sender and the provider by role, so each role has one holder; and
/// the provider must be a string, because the runtime writes a provider's name into it when
/// the caller leaves it out.
fn check_argument_role(
    context: &ArgumentPlanningContext,
    wire: &WireArgument,
    name: &str,
    role: Role,
    role_holders: &mut BTreeMap<Role, String>,
    problems: &mut Vec<Diagnostic>,
) {
    let tool_name = context.tool.name.get_ref();
    if let Some(other) = role_holders.insert(role, name.to_owned()) {
        problems.push(context.diagnostic_at_entry_named(
            &wire.wire_name,
            format!("tool `{tool_name}`: both `{other}` and `{name}` have role `{}`; a tool has at most one of each role", role_word(role)),
        ));
    }
    if role == Role::Provider && !schema_is_string(&wire.schema) {
        problems.push(
            context
                .diagnostic_at_entry_named(&wire.wire_name, format!("tool `{tool_name}`: the provider argument `{name}` must be a string")),
        );
    }
}

/// The argument's schema as clients see it: the spec's, with the manifest's description and
/// the effective default written in, so that the schema tells the whole story.
fn argument_schema(wire_schema: &Value, entry: &ArgumentEntry, default: Option<&Value>) -> Value {
    let mut schema = wire_schema.clone();
    if let Some(description) = &entry.description {
        schema["description"] = json!(description);
    }
    if let Some(default) = default {
        schema["default"] = default.clone();
    }
    schema
}

/// Two visible arguments with one name would leave a client no way to send one of them. This
/// happens when an operation has a path parameter and a body field of one name, or when a
/// rename or the snake_case conversion makes two names one.
pub(super) fn check_argument_name_collisions(
    manifest: &Manifest,
    tool: &ToolEntry,
    arguments: &[ArgumentPlan],
    problems: &mut Vec<Diagnostic>,
) {
    let mut names: BTreeMap<&str, &ArgumentPlan> = BTreeMap::new();
    for argument in arguments.iter().filter(|argument| !argument.hidden) {
        if let Some(other) = names.insert(&argument.name, argument) {
            problems.push(name_collision_diagnostic(manifest, tool, other, argument));
        }
    }
}

/// Points at the manifest entry that made the clash, when one did (a rename), and suggests a
/// rename qualified by location.
fn name_collision_diagnostic(manifest: &Manifest, tool: &ToolEntry, earlier: &ArgumentPlan, later: &ArgumentPlan) -> Diagnostic {
    at_argument_entry(
        manifest,
        tool,
        &later.wire_name,
        later.location,
        format!(
            "tool `{}`: argument `{}` comes from both {} `{}` and {} `{}`",
            tool.name.get_ref(),
            later.name,
            location_phrase(earlier.location),
            earlier.wire_name,
            location_phrase(later.location),
            later.wire_name
        ),
    )
    .with_help(format!(
        "rename one, e.g. arguments.\"{}:{}\" = {{ rename = \"{}_{}\" }}",
        location_word(later.location),
        later.wire_name,
        location_word(later.location),
        later.name
    ))
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

/// A manifest argument key, `name` or `location:name`, as its location (if any) and name.
fn split_qualified_key(key: &str) -> (Option<&str>, &str) {
    match key.split_once(':') {
        Some((location, name)) if ["path", "query", "body"].contains(&location) => (Some(location), name),
        _ => (None, key),
    }
}

/// The location as a manifest key writes it, before the `:`.
fn location_word(location: ArgumentLocation) -> &'static str {
    match location {
        ArgumentLocation::Path => "path",
        ArgumentLocation::Query => "query",
        ArgumentLocation::Header => "header",
        ArgumentLocation::BodyField | ArgumentLocation::Body => "body",
    }
}

/// The location as a sentence in a diagnostic names it.
fn location_phrase(location: ArgumentLocation) -> &'static str {
    match location {
        ArgumentLocation::Path => "path parameter",
        ArgumentLocation::Query => "query parameter",
        ArgumentLocation::Header => "header parameter",
        ArgumentLocation::BodyField => "body field",
        ArgumentLocation::Body => "the request body",
    }
}

/// The role as the manifest writes it.
fn role_word(role: Role) -> &'static str {
    match role {
        Role::Sender => "sender",
        Role::Provider => "provider",
        Role::Recipients => "recipients",
        Role::MessageBody => "message_body",
        Role::Audience => "audience",
        Role::SendAt => "send_at",
    }
}

/// A JSON Schema that admits strings (alone or among other types).
fn schema_is_string(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(kind)) => kind == "string",
        Some(Value::Array(kinds)) => kinds.contains(&json!("string")),
        _ => false,
    }
}
