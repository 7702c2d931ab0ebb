//! One operation of the spec, checked against what progenitor can generate and the tools
//! can carry, and rewritten into the form progenitor reads without panicking.
//!
//! Every rule here comes from progenitor 0.15's own rules (shared/reference/progenitor-support.md):
//! what it panics on or generates wrongly is a problem of the operation, so that an operation
//! the manifest does not name can be left out of the SDK with a warning instead of stopping
//! the run.

use serde_json::{Map, Value, json};

use crate::diagnostics::Diagnostic;
use crate::spec::Spec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ParameterLocation {
    Path,
    Query,
    Header,
}

#[derive(Debug, Clone)]
pub(crate) struct Parameter {
    pub(crate) name: String,
    pub(crate) location: ParameterLocation,
    pub(crate) required: bool,
    pub(crate) description: Option<String>,
    pub(crate) schema: Value,
}

/// How the request body is sent; the tools build it from the same arguments either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyEncoding {
    Json,
    Form,
    Text,
    Bytes,
}

#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub(crate) encoding: BodyEncoding,
    /// The body's schema, still with its `$ref`s.
    pub(crate) schema: Value,
}

/// What a successful call answers with.
#[derive(Debug, Clone)]
pub(crate) enum Success {
    /// A JSON body of this schema (still with its `$ref`s).
    Json(Value),
    /// No body (204, or a 2xx without content).
    Empty,
    /// A `text/plain` body.
    Text,
    /// Any other body: bytes.
    Bytes,
}

#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) id: String,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) parameters: Vec<Parameter>,
    pub(crate) body: Option<Body>,
    pub(crate) success: Success,
    /// Where the operation is in the YAML, as keys, for error lines.
    pub(crate) yaml_keys: Vec<String>,
}

/// The media types a body may have, best first: when a body offers several, progenitor
/// panics, so the first of these it offers is kept for the SDK.
const BODY_MEDIA_TYPES: [(&str, BodyEncoding); 4] = [
    ("application/json", BodyEncoding::Json),
    ("application/x-www-form-urlencoded", BodyEncoding::Form),
    ("text/plain", BodyEncoding::Text),
    ("application/octet-stream", BodyEncoding::Bytes),
];

/// A response's kind, as progenitor tells them apart: two responses of one group (success or
/// error) must have the same kind.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ResponseKind {
    Json(String),
    Text,
    Bytes,
    Empty,
}

impl ResponseKind {
    fn describe(&self) -> String {
        match self {
            ResponseKind::Json(schema) => format!("JSON {schema}"),
            ResponseKind::Text => "text/plain".to_owned(),
            ResponseKind::Bytes => "a non-JSON body".to_owned(),
            ResponseKind::Empty => "no body".to_owned(),
        }
    }
}

/// Checks one operation; returns it, with the operation as progenitor should see it, or every
/// problem that keeps it from being generated.
pub(crate) fn extract(
    spec: &Spec,
    path: &str,
    method: &str,
    raw: &Value,
    shared_parameters: &[Value],
) -> Result<(Operation, Value), Vec<Diagnostic>> {
    let keys = ["paths", path, method];
    let yaml_keys: Vec<String> = keys.iter().map(|key| (*key).to_owned()).collect();
    let mut problems = Vec::new();
    let mut trail: Vec<String> = keys.iter().map(|key| (*key).to_owned()).collect();
    for (at, problem) in crate::spec::unknown_types(&mut trail, raw) {
        let at: Vec<&str> = at.iter().map(String::as_str).collect();
        problems.push(spec.diagnostic(&at, problem));
    }
    let mut for_sdk = raw.clone();
    let id = match raw.get("operationId").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => {
            problems.push(
                spec.diagnostic(&keys, format!("`{} {path}` has no operationId", method.to_uppercase()))
                    .with_help("progenitor names SDK methods after operationId; add one"),
            );
            String::new()
        }
    };

    let mut parameters: Vec<Parameter> = Vec::new();
    let own_parameters = raw.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    for raw_parameter in shared_parameters.iter().chain(own_parameters.iter()) {
        match extract_parameter(spec, raw_parameter, &keys) {
            Ok(parameter) => {
                parameters.retain(|existing| !(existing.name == parameter.name && existing.location == parameter.location));
                parameters.push(parameter);
            }
            Err(problem) => problems.push(problem),
        }
    }
    check_path_template(spec, path, &parameters, &keys, &mut problems);

    let body = match raw.get("requestBody") {
        None => None,
        Some(raw_body) => match extract_body(spec, raw_body, &keys) {
            Ok((body, media_type)) => {
                // Only the chosen media type reaches progenitor, which panics on several.
                if let Ok(resolved) = spec.resolve(raw_body, &keys) {
                    let mut chosen = resolved.clone();
                    let content = chosen["content"][media_type.as_str()].clone();
                    chosen["content"] = json!({ media_type: content });
                    for_sdk["requestBody"] = chosen;
                }
                Some(body)
            }
            Err(problem) => {
                problems.push(problem);
                None
            }
        },
    };

    let success = match extract_responses(spec, raw, &keys, &mut for_sdk) {
        Ok(success) => success,
        Err(mut found) => {
            problems.append(&mut found);
            Success::Empty
        }
    };
    if problems.is_empty() {
        Ok((Operation { id, method: method.to_owned(), path: path.to_owned(), parameters, body, success, yaml_keys }, for_sdk))
    } else {
        Err(problems)
    }
}

fn extract_parameter(spec: &Spec, raw: &Value, keys: &[&str]) -> Result<Parameter, Diagnostic> {
    let parameter = spec.resolve(raw, keys)?;
    let name = parameter.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    let name_key = format!("name: {name}");
    let parameter_keys: Vec<&str> = keys.iter().copied().chain(["parameters", name_key.as_str()]).collect();
    let problem = |message: String| spec.diagnostic(&parameter_keys, message);
    let location = match parameter.get("in").and_then(Value::as_str) {
        Some("path") => ParameterLocation::Path,
        Some("query") => ParameterLocation::Query,
        Some("header") => ParameterLocation::Header,
        Some("cookie") => return Err(problem(format!("parameter `{name}` is a cookie; cookie parameters are not supported"))),
        Some(other) => return Err(problem(format!("parameter `{name}` is in `{other}`, which OpenAPI does not define"))),
        None => return Err(problem(format!("parameter `{name}` has no `in`"))),
    };
    if let Some(style) = parameter.get("style").and_then(Value::as_str) {
        let default_style = if location == ParameterLocation::Query { "form" } else { "simple" };
        if style != default_style {
            return Err(problem(format!("parameter `{name}` uses style `{style}`; progenitor supports only `{default_style}` here")));
        }
    }
    if parameter.get("content").is_some() {
        return Err(problem(format!("parameter `{name}` uses `content`; give it a `schema` instead")));
    }
    let Some(schema) = parameter.get("schema").cloned() else {
        return Err(problem(format!("parameter `{name}` has no schema")));
    };
    let required = parameter.get("required").and_then(Value::as_bool).unwrap_or(false);
    if location == ParameterLocation::Path && !required {
        return Err(problem(format!("path parameter `{name}` is not `required: true`, which OpenAPI demands of path parameters")));
    }
    let kind = spec.resolve(&schema, &parameter_keys).ok().and_then(|resolved| resolved.get("type")).and_then(Value::as_str);
    match (location, kind) {
        (ParameterLocation::Header, Some("array" | "object")) => {
            return Err(problem(format!("header parameter `{name}` is an {}; progenitor sends only scalar headers", kind.unwrap_or(""))));
        }
        (_, Some("object")) => {
            return Err(problem(format!("parameter `{name}` is an object; progenitor's builders cannot take object parameters")));
        }
        _ => {}
    }
    let description = parameter.get("description").and_then(Value::as_str).map(str::to_owned);
    Ok(Parameter { name, location, required, description, schema })
}

/// progenitor panics on a `{name}` in the path without a parameter, and on a path parameter
/// the path does not name.
fn check_path_template(spec: &Spec, path: &str, parameters: &[Parameter], keys: &[&str], problems: &mut Vec<Diagnostic>) {
    let in_template: Vec<&str> = path.split('{').skip(1).filter_map(|rest| rest.split('}').next()).collect();
    let declared: Vec<&str> = parameters
        .iter()
        .filter(|parameter| parameter.location == ParameterLocation::Path)
        .map(|parameter| parameter.name.as_str())
        .collect();
    for name in in_template.iter().filter(|name| !declared.contains(name)) {
        problems.push(spec.diagnostic(keys, format!("the path names `{{{name}}}` but the operation declares no path parameter `{name}`")));
    }
    for name in declared.iter().filter(|name| !in_template.contains(name)) {
        problems.push(spec.diagnostic(keys, format!("path parameter `{name}` is not in the path `{path}`")));
    }
}

fn extract_body(spec: &Spec, raw: &Value, keys: &[&str]) -> Result<(Body, String), Diagnostic> {
    let body_keys: Vec<&str> = keys.iter().copied().chain(["requestBody"]).collect();
    let body = spec.resolve(raw, &body_keys)?;
    let content = body.get("content").and_then(Value::as_object).cloned().unwrap_or_default();
    let problem = |message: String| spec.diagnostic(&body_keys, message);
    let Some((media_type, encoding)) = BODY_MEDIA_TYPES.iter().find(|(media_type, _)| content.contains_key(*media_type)) else {
        let listed = content.keys().map(|media| format!("`{media}`")).collect::<Vec<_>>().join(", ");
        let reason = if content.contains_key("multipart/form-data") {
            "multipart/form-data bodies are not supported (progenitor cannot send them)".to_owned()
        } else {
            format!("the request body's media types [{listed}] are not supported")
        };
        return Err(problem(reason).with_help("offer `application/json` or `application/x-www-form-urlencoded`"));
    };
    let media = &content[*media_type];
    if media.get("encoding").is_some() {
        return Err(problem(format!("the `{media_type}` body has an `encoding`, which progenitor does not support")));
    }
    let Some(schema) = media.get("schema").cloned() else { return Err(problem(format!("the `{media_type}` body has no schema"))) };
    let resolved = spec.resolve(&schema, &body_keys)?.clone();
    match encoding {
        BodyEncoding::Form => {
            let properties = resolved.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
            for (field, field_schema) in &properties {
                let field_schema = spec.resolve(field_schema, &body_keys)?;
                if let Some(kind @ ("array" | "object")) = field_schema.get("type").and_then(Value::as_str) {
                    return Err(problem(format!("form field `{field}` is an {kind}; progenitor's form encoding sends only scalar fields")));
                }
            }
        }
        BodyEncoding::Text if resolved.get("type").and_then(Value::as_str) != Some("string") => {
            return Err(problem("a `text/plain` body must have `type: string`".to_owned()));
        }
        BodyEncoding::Bytes if resolved.get("format").and_then(Value::as_str) != Some("binary") => {
            return Err(problem("an `application/octet-stream` body must be `type: string, format: binary`".to_owned()));
        }
        _ => {}
    }
    Ok((Body { encoding: *encoding, schema }, (*media_type).to_owned()))
}

/// Applies progenitor's rule of one response kind per group (success: 2xx and `default`;
/// error: 4xx, 5xx and `default`). A `default` beside a success status is the error answer,
/// so progenitor is shown it as `4XX` and `5XX` (it would count it in both groups and panic).
fn extract_responses(spec: &Spec, raw: &Value, keys: &[&str], for_sdk: &mut Value) -> Result<Success, Vec<Diagnostic>> {
    let response_keys: Vec<&str> = keys.iter().copied().chain(["responses"]).collect();
    let responses = raw.get("responses").and_then(Value::as_object).cloned().unwrap_or_default();
    let is_success = |status: &str| status.starts_with('2');
    let mut problems = Vec::new();
    let mut kinds: Vec<(String, ResponseKind, Success)> = Vec::new();
    for (status, response) in &responses {
        let status_keys: Vec<&str> = response_keys.iter().copied().chain([status.as_str()]).collect();
        match response_kind(spec, response, &status_keys) {
            Ok((kind, success)) => kinds.push((status.clone(), kind, success)),
            Err(problem) => problems.push(problem),
        }
    }
    let has_success = kinds.iter().any(|(status, ..)| is_success(status));
    if !has_success {
        problems.push(
            spec.diagnostic(&response_keys, "the operation has no success (2xx) response")
                .with_help("say what a successful call answers, such as `200` or `204`"),
        );
    }
    if has_success && responses.contains_key("default") {
        let mut rewritten: Map<String, Value> = responses.clone();
        let default = rewritten.remove("default").unwrap_or(Value::Null);
        for range in ["4XX", "5XX"] {
            rewritten.entry(range).or_insert_with(|| default.clone());
        }
        for_sdk["responses"] = Value::Object(rewritten);
    }
    let in_group = |success: bool| -> Vec<&(String, ResponseKind, Success)> {
        kinds.iter().filter(|(status, ..)| if success { is_success(status) } else { !is_success(status) }).collect()
    };
    for (success, group) in [(true, "success"), (false, "error")] {
        let members = in_group(success);
        if let Some((first_status, first_kind, _)) = members.first()
            && let Some((other_status, other_kind, _)) = members.iter().find(|(_, kind, _)| kind != first_kind)
        {
            problems.push(
                spec.diagnostic(
                    &response_keys,
                    format!(
                        "{group} responses differ: {first_status} has {} and {other_status} has {}",
                        first_kind.describe(),
                        other_kind.describe()
                    ),
                )
                .with_help(format!("progenitor gives an operation one {group} type: give every {group} status the same schema")),
            );
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(kinds.into_iter().find(|(status, ..)| is_success(status)).map(|(.., success)| success).unwrap_or(Success::Empty))
}

fn response_kind(spec: &Spec, raw: &Value, keys: &[&str]) -> Result<(ResponseKind, Success), Diagnostic> {
    let response = spec.resolve(raw, keys)?;
    let content = response.get("content").and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some((_, media)) =
        content.iter().find(|(media_type, _)| *media_type == "application/json" || media_type.starts_with("application/json;"))
    {
        let Some(schema) = media.get("schema") else {
            return Err(spec.diagnostic(keys, "the JSON response has no schema"));
        };
        // progenitor tells JSON types apart by reference, or by the inline schema itself.
        let identity = schema.get("$ref").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| schema.to_string());
        return Ok((ResponseKind::Json(identity), Success::Json(schema.clone())));
    }
    if content.is_empty() {
        return Ok((ResponseKind::Empty, Success::Empty));
    }
    if content.len() == 1 && content.contains_key("text/plain") {
        return Ok((ResponseKind::Text, Success::Text));
    }
    Ok((ResponseKind::Bytes, Success::Bytes))
}
