//! Turns OpenAPI 3.0 schemas into self-contained JSON Schema (draft 2020-12) for tool schemas.
//!
//! MCP clients and the LLM APIs behind them reject `$ref`, so every reference is inlined.
//! Every constraint the spec states (pattern, enum, lengths, bounds, required) is kept,
//! because the same schema is what the runtime validates arguments against.

use serde_json::{Map, Value, json};

use crate::diagnostics::Diagnostic;
use crate::spec::Spec;

/// Keywords copied as they are: they mean the same in OpenAPI 3.0 and JSON Schema 2020-12.
const COPIED_KEYWORDS: [&str; 22] = [
    "type",
    "format",
    "pattern",
    "enum",
    "minimum",
    "maximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "required",
    "description",
    "title",
    "default",
    "deprecated",
    "const",
    // Kept while inlining so that the input side can drop read-only properties and the output
    // side write-only ones (`drop_marked_properties`); neither reaches a tool schema.
    "readOnly",
    "writeOnly",
];

/// Keywords of OpenAPI 3.0 that have no faithful JSON Schema form in a tool schema.
const REJECTED_KEYWORDS: [(&str, &str); 2] = [
    ("not", "`not` cannot be shown to an LLM as a usable constraint; state what is allowed instead"),
    ("xml", "XML bodies are not supported"),
];

/// How many times one schema may be expanded inside itself before the expansion stops: a
/// recursive schema (a folder of folders) is shown this deep, then as a bare object whose
/// description says why; the SDK's types still check every level when a call is made.
const RECURSION_DEPTH: usize = 2;

pub(crate) struct Inliner<'a> {
    spec: &'a Spec,
    /// The references being expanded, to refuse recursive schemas instead of looping.
    stack: Vec<String>,
}

impl<'a> Inliner<'a> {
    /// The spec whose references this inliner follows, for diagnostics that point into it.
    pub(crate) fn spec(&self) -> &'a Spec {
        self.spec
    }
}

impl<'a> Inliner<'a> {
    pub(crate) fn new(spec: &'a Spec) -> Self {
        Inliner { spec, stack: Vec::new() }
    }

    /// `keys` locates the schema in the YAML, for error lines.
    pub(crate) fn inline(&mut self, schema: &Value, keys: &[&str]) -> Result<Value, Diagnostic> {
        let Some(object) = schema.as_object() else {
            return Err(self.spec.diagnostic(keys, "a schema must be a mapping"));
        };
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            return self.inline_reference(reference, keys);
        }
        for (keyword, reason) in REJECTED_KEYWORDS {
            if object.contains_key(keyword) {
                return Err(self.spec.diagnostic(keys, format!("unsupported OpenAPI construct `{keyword}`: {reason}")));
            }
        }

        let mut out = Map::new();
        for (keyword, value) in object {
            match keyword.as_str() {
                keyword if COPIED_KEYWORDS.contains(&keyword) => {
                    out.insert(keyword.to_owned(), value.clone());
                }
                "example" => {
                    out.insert("examples".to_owned(), json!([value]));
                }
                "items" => {
                    out.insert("items".to_owned(), self.inline(value, &[keys, &["items"]].concat())?);
                }
                "properties" => {
                    let mut properties = Map::new();
                    for (name, property) in value.as_object().into_iter().flatten() {
                        properties.insert(name.clone(), self.inline(property, &[keys, &["properties", name.as_str()]].concat())?);
                    }
                    out.insert("properties".to_owned(), Value::Object(properties));
                }
                "additionalProperties" => {
                    let inlined = match value {
                        Value::Bool(_) => value.clone(),
                        other => self.inline(other, &[keys, &["additionalProperties"]].concat())?,
                    };
                    out.insert("additionalProperties".to_owned(), inlined);
                }
                "oneOf" | "anyOf" | "allOf" => {
                    let mut members = Vec::new();
                    for member in value.as_array().into_iter().flatten() {
                        members.push(self.inline(member, &[keys, &[keyword.as_str()]].concat())?);
                    }
                    out.insert(keyword.clone(), Value::Array(members));
                }
                "exclusiveMinimum" | "exclusiveMaximum" => {
                    // OpenAPI 3.0 writes a boolean beside minimum/maximum; 2020-12 wants the bound.
                    if value.as_bool() == Some(true) {
                        let bound = if keyword == "exclusiveMinimum" { "minimum" } else { "maximum" };
                        if let Some(limit) = object.get(bound) {
                            out.insert(keyword.clone(), limit.clone());
                        }
                    }
                }
                // A discriminator names the property that tells the branches apart; in JSON
                // Schema the branches' own enums on that property already do.
                "nullable" | "discriminator" | "externalDocs" => {}
                extension if extension.starts_with("x-") => {}
                unknown => {
                    return Err(self.spec.diagnostic(keys, format!("unsupported or unknown schema keyword `{unknown}`")));
                }
            }
        }
        if object.get("exclusiveMinimum").and_then(Value::as_bool) == Some(true) {
            out.remove("minimum");
        }
        if object.get("exclusiveMaximum").and_then(Value::as_bool) == Some(true) {
            out.remove("maximum");
        }
        if out.get("type").and_then(Value::as_str) == Some("array") && !out.contains_key("items") {
            return Err(self.spec.diagnostic(keys, "an array schema needs `items`; many MCP clients reject arrays without them"));
        }
        numeric_format_as_bounds(&mut out);
        collapse_single_all_of(&mut out);
        if object.get("nullable").and_then(Value::as_bool) == Some(true) {
            make_nullable(&mut out);
        }
        Ok(Value::Object(out))
    }

    fn inline_reference(&mut self, reference: &str, keys: &[&str]) -> Result<Value, Diagnostic> {
        if self.stack.iter().filter(|open| *open == reference).count() >= RECURSION_DEPTH {
            let name = reference.rsplit('/').next().unwrap_or(reference);
            return Ok(json!({
                "type": "object",
                "description": format!("Another {name}, as above (a recursive schema, not expanded further here).")
            }));
        }
        let Some(target) = self.spec.resolve_reference(reference).cloned() else {
            return Err(self.spec.diagnostic(
                keys,
                format!("`$ref: {reference}` points at nothing; only local references (#/components/...) are supported"),
            ));
        };
        let target_keys: Vec<String> = reference.trim_start_matches("#/").split('/').map(str::to_owned).collect();
        let target_keys: Vec<&str> = target_keys.iter().map(String::as_str).collect();
        self.stack.push(reference.to_owned());
        let result = self.inline(&target, &target_keys);
        self.stack.pop();
        result
    }
}

/// Removes, at every depth, the properties marked `marker` (`readOnly` for what a client
/// sends, `writeOnly` for what it is shown), with their `required` entries, then the markers.
pub(crate) fn drop_marked_properties(schema: &mut Value, marker: &str) {
    let Some(object) = schema.as_object_mut() else { return };
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        let marked: Vec<String> =
            properties.iter().filter(|(_, property)| property.get(marker) == Some(&json!(true))).map(|(name, _)| name.clone()).collect();
        for name in &marked {
            properties.remove(name);
        }
        if let Some(Value::Array(required)) = object.get_mut("required") {
            required.retain(|name| !marked.iter().any(|marked| name == marked));
        }
    }
    object.remove("readOnly");
    object.remove("writeOnly");
    for property in object.get_mut("properties").and_then(Value::as_object_mut).into_iter().flat_map(|properties| properties.values_mut()) {
        drop_marked_properties(property, marker);
    }
    for keyword in ["items", "additionalProperties"] {
        if let Some(child) = object.get_mut(keyword) {
            drop_marked_properties(child, marker);
        }
    }
    for keyword in ["oneOf", "anyOf", "allOf"] {
        for member in object.get_mut(keyword).and_then(Value::as_array_mut).into_iter().flatten() {
            drop_marked_properties(member, marker);
        }
    }
}

/// `allOf: [X]` is OpenAPI 3.0's way to put `nullable` or a description beside a `$ref`;
/// merging X in keeps the schema flat, which clients render better.
fn collapse_single_all_of(out: &mut Map<String, Value>) {
    let single = match out.get("allOf").and_then(Value::as_array) {
        Some(members) if members.len() == 1 => members[0].clone(),
        _ => return,
    };
    out.remove("allOf");
    if let Value::Object(member) = single {
        for (keyword, value) in member {
            out.entry(keyword).or_insert(value);
        }
    }
}

/// OpenAPI 3.0's `nullable: true`, written the 2020-12 way.
fn make_nullable(out: &mut Map<String, Value>) {
    match out.get("type").cloned() {
        Some(Value::String(single)) => {
            out.insert("type".to_owned(), json!([single, "null"]));
        }
        Some(Value::Array(mut several)) => {
            if !several.contains(&json!("null")) {
                several.push(json!("null"));
            }
            out.insert("type".to_owned(), Value::Array(several));
        }
        _ => {
            let inner = std::mem::take(out);
            out.insert("anyOf".to_owned(), json!([inner, {"type": "null"}]));
            return;
        }
    }
    if let Some(Value::Array(values)) = out.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
}

/// OpenAPI's numeric formats (`int32`, `int64`, `float`, `double`) are not JSON Schema formats:
/// clients ignore them and they cost bytes in every `tools/list`. `int32`'s range is kept as
/// bounds where the spec states none; the others bound nothing a JSON number can hold.
fn numeric_format_as_bounds(schema: &mut Map<String, Value>) {
    let Some(format) = schema.get("format").and_then(Value::as_str).map(str::to_owned) else { return };
    match format.as_str() {
        "int32" => {
            schema.entry("minimum").or_insert(json!(i32::MIN));
            schema.entry("maximum").or_insert(json!(i32::MAX));
        }
        "int64" | "float" | "double" => {}
        _ => return,
    }
    schema.remove("format");
}
