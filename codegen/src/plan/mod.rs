//! Joins the spec and the manifest into one plan per tool: its arguments, schemas and SDK call.
//!
//! Planning one tool runs in stages, each in its own function so that `plan_tool` reads as
//! the list of them: find the operation, collect its wire arguments, match the manifest's
//! argument entries to them, plan each argument, check the argument names for collisions,
//! look up the SDK call, and build the output schema. Every stage after the first two adds
//! its problems to one list instead of stopping, so a maintainer sees every error in one run.

mod arguments;
mod safety;
mod schemas;
mod sdk_calls;
mod wire;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::manifest::{Annotations, Manifest, Role, ToolEntry};
use crate::schema::Inliner;
use crate::sdk::GeneratedSdk;
use crate::spec::{Operation, Spec, Success};

use arguments::{ArgumentPlanningContext, check_argument_name_collisions, match_argument_entries, plan_arguments};
pub(crate) use safety::SafetyPlan;
use safety::plan_safety;
use schemas::{input_schema, output_schema};
use sdk_calls::OperationBuilder;
use wire::wire_arguments;

/// Where a tool argument goes in the upstream HTTP request. The runtime reads it to put each
/// argument in its place, and tests read it to find the spec schema an argument came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgumentLocation {
    /// A path parameter, substituted into the URL template.
    Path,
    /// A query parameter, appended to the URL.
    Query,
    /// A header parameter, sent as a request header.
    Header,
    /// One property of an object body.
    BodyField,
    /// The whole body, when it is not an object with properties.
    Body,
}

/// How a route turns the SDK's answer into a tool result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// `send_json`: the JSON that came, passed on.
    Json,
    /// `send`: the answer parsed into the SDK's types, then turned into JSON.
    Typed,
    /// `send` of an answer without a body: the result says the status.
    Empty,
    /// `send` of a `text/plain` answer: the result holds the text.
    Text,
}

/// One argument of a tool as planned: how the MCP client sees it, and where it goes on the wire.
#[derive(Debug, Clone)]
pub struct ArgumentPlan {
    /// The name the MCP client sees.
    pub name: String,
    /// The name on the wire: the parameter or body property of the spec.
    pub wire_name: String,
    /// Where the argument goes in the request, so that its source schema in the spec can be found.
    pub location: ArgumentLocation,
    /// Required in the tool's input schema (a default makes an argument optional).
    pub required: bool,
    /// Left out of the input schema: the manifest fixes its value, so the client never sends it.
    pub hidden: bool,
    pub(crate) fixed: Option<Value>,
    pub(crate) default: Option<Value>,
    pub(crate) role: Option<Role>,
    pub(crate) schema: Value,
    /// For path, query and header arguments: the SDK builder setter and its Rust type.
    pub(crate) setter: Option<(String, String)>,
}

/// Everything the generator knows about one tool: what the MCP client sees (name, schemas)
/// and which upstream operation and SDK call serve it. The emitter writes the routes from
/// it, and tests compare its schemas with the spec.
#[derive(Debug, Clone)]
pub struct ToolPlan {
    /// The tool's name as MCP clients list and call it.
    pub name: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) scope: String,
    pub(crate) annotations: Annotations,
    pub(crate) progress: bool,
    pub(crate) operation_id: String,
    /// The HTTP method of the upstream operation, lowercase as the spec's path item keys it.
    pub method: String,
    /// The URL template of the upstream operation, as the spec's `paths` keys it.
    pub path: String,
    pub(crate) client_method: String,
    /// The Rust type of the request body, as progenitor named it.
    pub(crate) body_type: Option<String>,
    /// How the route turns the SDK's answer into a result.
    pub(crate) answer: Answer,
    /// Every argument, hidden ones included, in the operation's order.
    pub arguments: Vec<ArgumentPlan>,
    /// The JSON Schema of the tool's arguments that MCP clients validate calls against.
    pub input_schema: Value,
    /// The JSON Schema of the tool's structured result.
    pub output_schema: Value,
    /// How calls are made safe to retry and to repeat, when the tool sends or writes.
    pub(crate) safety: SafetyPlan,
}

/// Tool and argument names: what MCP clients and LLM APIs accept everywhere.
fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// Plans every tool of the manifest, or reports every problem found in any of them.
pub(crate) fn plan_tools(spec: &Spec, manifest: &Manifest, sdk: &GeneratedSdk) -> Result<Vec<ToolPlan>, Diagnostics> {
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

/// Plans one tool, stage by stage. An unknown operation, or a parameter or body schema that
/// cannot be inlined, stops at once, because every later stage needs them; the later stages collect
/// their problems, and the plan is returned only when there are none.
fn plan_tool(spec: &Spec, manifest: &Manifest, sdk: &GeneratedSdk, tool: &ToolEntry) -> Result<ToolPlan, Vec<Diagnostic>> {
    let operation = find_operation(spec, manifest, tool)?;
    let mut inliner = Inliner::new(spec);
    let wire_arguments = wire_arguments(operation, tool, &mut inliner).map_err(|problem| vec![problem])?;
    let mut problems = Vec::new();
    let entries = match_argument_entries(manifest, tool, &wire_arguments, &mut problems);
    let builder = OperationBuilder::new(spec, sdk, operation);
    let context = ArgumentPlanningContext { manifest, tool, builder: &builder };
    let arguments = plan_arguments(&context, wire_arguments, entries, &mut problems);
    check_argument_name_collisions(manifest, tool, &arguments, &mut problems);
    let safety = plan_safety(manifest, tool, &arguments, &mut problems);
    let client_method = builder.client_method(&mut problems);
    let body_type = builder.body_type(&mut problems);
    // What the runtime adds to a result widens the output schema: the provider's choice, the
    // cost of a message, how a call with an unknown outcome was settled.
    let has_role = |role: Role| arguments.iter().any(|argument| argument.role == Some(role));
    let additions = schemas::ResultAdditions {
        provider_selection: has_role(Role::Provider),
        cost: has_role(Role::MessageBody),
        outcome: safety.reconcile.is_some() || safety.idempotency,
    };
    let output_schema = output_schema(spec, operation, &mut inliner, additions).unwrap_or_else(|problem| {
        problems.push(problem);
        Value::Null
    });
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ToolPlan {
        name: tool.name.get_ref().clone(),
        title: tool.title.trim().to_owned(),
        description: tool.description.trim().to_owned(),
        scope: tool.scope.get_ref().clone(),
        annotations: tool.annotations,
        progress: tool.progress,
        operation_id: operation.id.clone(),
        method: operation.method.clone(),
        path: operation.path.clone(),
        client_method,
        body_type,
        answer: match operation.success {
            Success::Json(_) if builder.has_json_sender() => Answer::Json,
            Success::Empty => Answer::Empty,
            Success::Text => Answer::Text,
            _ => Answer::Typed,
        },
        input_schema: input_schema(&arguments, &safety),
        arguments,
        output_schema,
        safety,
    })
}

/// The spec operation the tool names, or a diagnostic at the manifest's `operation` key that
/// suggests the closest operation id.
fn find_operation<'spec>(spec: &'spec Spec, manifest: &Manifest, tool: &ToolEntry) -> Result<&'spec Operation, Vec<Diagnostic>> {
    let operation_id = tool.operation.get_ref();
    // An operation the generator left out is an error once a tool needs it: its reasons follow.
    if let Some(left_out) = spec.left_out.iter().find(|left_out| &left_out.name == operation_id) {
        let mut problems = vec![manifest.diagnostic(
            &tool.operation,
            format!("tool `{}` needs {}, which cannot be generated (reasons below)", tool.name.get_ref(), left_out.describe()),
        )];
        problems.extend(left_out.problems.iter().cloned());
        return Err(problems);
    }
    spec.operation(operation_id).ok_or_else(|| {
        vec![
            manifest
                .diagnostic(&tool.operation, format!("unknown operation `{operation_id}` in {}", spec.file))
                .with_optional_help(spec.suggest_operation(operation_id)),
        ]
    })
}
