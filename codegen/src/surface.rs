//! The MCP tool surface as data, and the report of how it changed between two runs.
//!
//! `generated/tool-surface.json` is written beside the code; the next run compares its
//! new surface with that file, so every regeneration says what MCP clients will see change.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::ToolPlan;
use crate::spec::Spec;

/// What MCP clients see of every tool: the parts whose change can break a client's calls
/// (scope, hints, argument names, types and enum values), and nothing else.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Surface {
    /// Each tool's surface by tool name; sorted, so the JSON file diffs cleanly.
    pub tools: BTreeMap<String, ToolSurface>,
    /// Every operation of the spec by name, and what became of it: `tool <name>`, `SDK only`
    /// or `left out of the SDK: <why>`. Kept so that an operation added to the spec shows in
    /// the report even when no one adds it to the manifest.
    #[serde(default)]
    pub operations: BTreeMap<String, String>,
}

/// What MCP clients see of one tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSurface {
    pub(crate) scope: String,
    pub(crate) read_only: bool,
    pub(crate) destructive: bool,
    pub(crate) idempotent: bool,
    pub(crate) open_world: bool,
    /// The visible arguments by name; hidden ones are not part of what clients see.
    pub arguments: BTreeMap<String, ArgumentSurface>,
}

/// What MCP clients see of one argument: enough to tell whether their calls still fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArgumentSurface {
    /// A short type: `string`, `integer`, `string[]`, `object[]`, `string|null`, ...
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) values: Vec<String>,
}

impl Surface {
    pub(crate) fn new(plans: &[ToolPlan], spec: &Spec) -> Surface {
        let mut operations: BTreeMap<String, String> =
            spec.operations.iter().map(|operation| (operation.id.clone(), "SDK only".to_owned())).collect();
        for plan in plans {
            let place = operations.entry(plan.operation_id.clone()).or_default();
            *place = if place.starts_with("tool") { format!("{place}, `{}`", plan.name) } else { format!("tool `{}`", plan.name) };
        }
        for left_out in &spec.left_out {
            operations.insert(left_out.name.clone(), format!("left out of the SDK: {}", left_out.reason()));
        }
        Surface { operations, ..Surface::from_plans(plans) }
    }

    fn from_plans(plans: &[ToolPlan]) -> Surface {
        let tools = plans
            .iter()
            .map(|plan| {
                let enum_values = |schema: &Value| -> Vec<String> {
                    schema
                        .get("enum")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                };
                let mut arguments: BTreeMap<String, ArgumentSurface> = plan
                    .arguments
                    .iter()
                    .filter(|argument| !argument.hidden)
                    .map(|argument| {
                        let surface = ArgumentSurface {
                            kind: short_type(&argument.schema),
                            required: argument.required,
                            values: enum_values(&argument.schema),
                        };
                        (argument.name.clone(), surface)
                    })
                    .collect();
                // The safety's control arguments are part of what clients see: always optional.
                for (name, schema) in plan.safety.control_arguments() {
                    arguments.insert(
                        name.to_owned(),
                        ArgumentSurface { kind: short_type(&schema), required: false, values: enum_values(&schema) },
                    );
                }
                let hints = plan.annotations;
                let surface = ToolSurface {
                    scope: plan.scope.clone(),
                    read_only: hints.read_only,
                    destructive: hints.destructive,
                    idempotent: hints.idempotent,
                    open_world: hints.open_world,
                    arguments,
                };
                (plan.name.clone(), surface)
            })
            .collect();
        Surface { tools, operations: BTreeMap::new() }
    }

    /// The surface as `generated/tool-surface.json` holds it: pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the surface serializes") + "\n"
    }
}

fn short_type(schema: &Value) -> String {
    let base = |kind: &str| -> String {
        if kind == "array" {
            let items = schema.get("items").map(short_type).unwrap_or_else(|| "any".to_owned());
            format!("{items}[]")
        } else {
            kind.to_owned()
        }
    };
    match schema.get("type") {
        Some(Value::String(kind)) => base(kind),
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).map(base).collect::<Vec<_>>().join("|"),
        _ => ["oneOf", "anyOf"]
            .iter()
            .find_map(|keyword| schema.get(*keyword).and_then(Value::as_array))
            .map(|members| members.iter().map(short_type).collect::<Vec<_>>().join("|"))
            .unwrap_or_else(|| "any".to_owned()),
    }
}

/// One change of the tool surface, as a line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    /// Whether an existing MCP client's calls may fail because of it.
    pub(crate) breaking: bool,
    pub(crate) text: String,
}

/// How the tool surface changed; empty when it did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurfaceReport {
    pub(crate) changes: Vec<Change>,
}

impl SurfaceReport {
    /// Whether any change may break an existing MCP client, so that a reviewer knows to
    /// treat the regeneration as a breaking release.
    pub fn has_breaking(&self) -> bool {
        self.changes.iter().any(|change| change.breaking)
    }
}

impl fmt::Display for SurfaceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return writeln!(f, "MCP tool surface: unchanged.");
        }
        let breaking = self.changes.iter().filter(|change| change.breaking).count();
        writeln!(f, "MCP tool surface: {} change(s), {breaking} breaking for existing MCP clients:", self.changes.len())?;
        for change in &self.changes {
            let marker = if change.breaking { "BREAKING" } else { "ok      " };
            writeln!(f, "  {marker} {}", change.text)?;
        }
        Ok(())
    }
}

/// Lists how the surface changed from `old` to `new`, marking the changes that may break
/// existing clients: removed tools and arguments, arguments added as or made required,
/// retyped arguments, narrowed enums and changed scopes.
pub fn compare(old: &Surface, new: &Surface) -> SurfaceReport {
    let mut changes = Vec::new();
    let mut push = |breaking: bool, text: String| changes.push(Change { breaking, text });
    for (name, old_tool) in &old.tools {
        let Some(new_tool) = new.tools.get(name) else {
            push(true, format!("tool `{name}` removed"));
            continue;
        };
        if old_tool.scope != new_tool.scope {
            push(true, format!("tool `{name}`: scope changed from `{}` to `{}` (existing tokens lack it)", old_tool.scope, new_tool.scope));
        }
        let hints = |tool: &ToolSurface| (tool.read_only, tool.destructive, tool.idempotent, tool.open_world);
        if hints(old_tool) != hints(new_tool) {
            push(
                false,
                format!(
                    "tool `{name}`: annotations changed from (read_only, destructive, idempotent, open_world) = {:?} to {:?}",
                    hints(old_tool),
                    hints(new_tool)
                ),
            );
        }
        for (argument, old_argument) in &old_tool.arguments {
            let Some(new_argument) = new_tool.arguments.get(argument) else {
                push(true, format!("tool `{name}`: argument `{argument}` removed"));
                continue;
            };
            if old_argument.kind != new_argument.kind {
                push(true, format!("tool `{name}`: argument `{argument}` retyped from `{}` to `{}`", old_argument.kind, new_argument.kind));
            }
            if !old_argument.required && new_argument.required {
                push(true, format!("tool `{name}`: argument `{argument}` made required"));
            }
            if old_argument.required && !new_argument.required {
                push(false, format!("tool `{name}`: argument `{argument}` made optional"));
            }
            if !new_argument.values.is_empty() {
                let dropped: Vec<&String> = old_argument.values.iter().filter(|value| !new_argument.values.contains(value)).collect();
                if !dropped.is_empty() || old_argument.values.is_empty() {
                    let dropped_text = if old_argument.values.is_empty() {
                        "became an enum".to_owned()
                    } else {
                        format!("dropped enum value(s) {}", quoted_list(&dropped))
                    };
                    push(true, format!("tool `{name}`: argument `{argument}` {dropped_text}"));
                }
                let added: Vec<&String> = new_argument.values.iter().filter(|value| !old_argument.values.contains(value)).collect();
                if !added.is_empty() && !old_argument.values.is_empty() {
                    push(false, format!("tool `{name}`: argument `{argument}` gained enum value(s) {}", quoted_list(&added)));
                }
            }
        }
        for (argument, new_argument) in &new_tool.arguments {
            if !old_tool.arguments.contains_key(argument) {
                let required = if new_argument.required { "required" } else { "optional" };
                push(new_argument.required, format!("tool `{name}`: {required} argument `{argument}` added"));
            }
        }
    }
    for name in new.tools.keys().filter(|name| !old.tools.contains_key(*name)) {
        push(false, format!("tool `{name}` added"));
    }
    // Operations: what became of each is news for the maintainer, never a break for clients
    // (a removed tool is reported above).
    for (name, place) in &new.operations {
        match old.operations.get(name) {
            None => push(false, format!("operation `{name}` added to the spec: {place}")),
            Some(old_place) if old_place != place => push(false, format!("operation `{name}`: {old_place} -> {place}")),
            Some(_) => {}
        }
    }
    for name in old.operations.keys().filter(|name| !new.operations.contains_key(*name)) {
        push(false, format!("operation `{name}` removed from the spec"));
    }
    SurfaceReport { changes }
}

fn quoted_list(values: &[&String]) -> String {
    values.iter().map(|value| format!("`{value}`")).collect::<Vec<_>>().join(", ")
}
