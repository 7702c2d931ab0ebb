//! Loads the OpenAPI document and extracts the operations the tools are made from.

use serde_json::Value;

use crate::diagnostics::{Diagnostic, Diagnostics, did_you_mean};

/// The spec as text (for line numbers), as a JSON tree (for the tool schemas) and as
/// progenitor's typed model (for the SDK).
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) file: String,
    pub(crate) text: String,
    pub(crate) tree: Value,
    pub(crate) openapi: openapiv3::OpenAPI,
    pub(crate) operations: Vec<Operation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ParameterLocation {
    Path,
    Query,
}

#[derive(Debug, Clone)]
pub(crate) struct Parameter {
    pub(crate) name: String,
    pub(crate) location: ParameterLocation,
    pub(crate) required: bool,
    pub(crate) description: Option<String>,
    pub(crate) schema: Value,
}

#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) id: String,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) parameters: Vec<Parameter>,
    /// The JSON request body's schema, still with its `$ref`s.
    pub(crate) body: Option<Value>,
    /// The schema of the one JSON success response.
    pub(crate) success: Value,
    /// Where the operation is in the YAML, as keys, for error lines.
    pub(crate) yaml_keys: Vec<String>,
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

impl Spec {
    pub(crate) fn load(file: &str, text: &str) -> Result<Spec, Diagnostics> {
        let tree: Value = serde_yaml::from_str(text).map_err(|error| {
            let line = error.location().map(|location| location.line());
            Diagnostic::new(file, line, format!("the spec is not valid YAML: {error}"))
        })?;
        let version = tree.get("openapi").and_then(Value::as_str).unwrap_or("");
        if !version.starts_with("3.0.") {
            return Err(Diagnostic::new(
                file,
                find_line(text, &["openapi"]),
                format!("unsupported OpenAPI version `{version}`: progenitor reads OpenAPI 3.0.x only"),
            )
            .with_help("write `openapi: 3.0.3` and express 3.1 features in 3.0 terms (`nullable: true` instead of a `null` type)")
            .into());
        }
        let openapi: openapiv3::OpenAPI = serde_yaml::from_str(text).map_err(|error| {
            let line = error.location().map(|location| location.line());
            Diagnostic::new(file, line, format!("the spec is not a valid OpenAPI 3.0 document: {error}"))
        })?;
        let mut spec = Spec { file: file.to_owned(), text: text.to_owned(), tree, openapi, operations: Vec::new() };
        spec.operations = spec.extract_operations()?;
        Ok(spec)
    }

    /// The line of a nested key, found by indentation; the deepest key found wins.
    pub(crate) fn line_of(&self, keys: &[&str]) -> Option<usize> {
        find_line(&self.text, keys)
    }

    pub(crate) fn diagnostic(&self, keys: &[&str], message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.file, self.line_of(keys), message)
    }

    pub(crate) fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|operation| operation.id == id)
    }

    pub(crate) fn suggest_operation(&self, wrong: &str) -> Option<String> {
        did_you_mean(wrong, self.operations.iter().map(|operation| operation.id.as_str()))
    }

    /// Follows a local `$ref` such as `#/components/schemas/Message`.
    pub(crate) fn resolve_reference(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        self.tree.pointer(pointer)
    }

    fn resolve<'a>(&'a self, value: &'a Value, keys: &[&str]) -> Result<&'a Value, Diagnostic> {
        match value.get("$ref").and_then(Value::as_str) {
            None => Ok(value),
            Some(reference) => self.resolve_reference(reference).ok_or_else(|| {
                self.diagnostic(
                    keys,
                    format!("`$ref: {reference}` points at nothing; only local references (#/components/...) are supported"),
                )
            }),
        }
    }

    fn extract_operations(&self) -> Result<Vec<Operation>, Diagnostics> {
        let mut operations = Vec::new();
        let mut problems = Vec::new();
        let paths = self.tree.get("paths").and_then(Value::as_object).cloned().unwrap_or_default();
        for (path, item) in &paths {
            if item.get("$ref").is_some() {
                problems.push(self.diagnostic(
                    &["paths", path],
                    format!("path item `{path}` is a `$ref`, which progenitor does not support; write it inline"),
                ));
                continue;
            }
            let shared_parameters = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
            for method in METHODS {
                let Some(operation) = item.get(method) else { continue };
                match self.extract_operation(path, method, operation, &shared_parameters) {
                    Ok(operation) => operations.push(operation),
                    Err(mut found) => problems.append(&mut found),
                }
            }
        }
        let mut seen = std::collections::BTreeMap::new();
        for operation in &operations {
            if let Some(first) = seen.insert(operation.id.clone(), operation.path.clone()) {
                let keys: Vec<&str> = operation.yaml_keys.iter().map(String::as_str).collect();
                problems.push(
                    self.diagnostic(&keys, format!("operationId `{}` is used twice (also under `{first}`)", operation.id))
                        .with_help("operation ids must be unique; rename one"),
                );
            }
        }
        if problems.is_empty() { Ok(operations) } else { Err(Diagnostics(problems)) }
    }

    fn extract_operation(
        &self,
        path: &str,
        method: &str,
        operation: &Value,
        shared_parameters: &[Value],
    ) -> Result<Operation, Vec<Diagnostic>> {
        let keys = ["paths", path, method];
        let mut problems = Vec::new();
        let id = match operation.get("operationId").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => {
                problems.push(
                    self.diagnostic(&keys, format!("`{method} {path}` has no operationId"))
                        .with_help("progenitor names SDK methods after operationId; add one"),
                );
                String::new()
            }
        };
        let yaml_keys: Vec<String> = keys.iter().map(|key| (*key).to_owned()).collect();

        let mut parameters = Vec::new();
        let own_parameters = operation.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
        for raw in shared_parameters.iter().chain(own_parameters.iter()) {
            match self.extract_parameter(raw, &keys) {
                Ok(parameter) => {
                    parameters.retain(|existing: &Parameter| !(existing.name == parameter.name && existing.location == parameter.location));
                    parameters.push(parameter);
                }
                Err(problem) => problems.push(problem),
            }
        }

        let body = match operation.get("requestBody") {
            None => None,
            Some(raw) => match self.extract_body(raw, &keys) {
                Ok(schema) => Some(schema),
                Err(problem) => {
                    problems.push(problem);
                    None
                }
            },
        };

        let success = match self.extract_success(operation, &keys) {
            Ok(schema) => schema,
            Err(problem) => {
                problems.push(problem);
                Value::Null
            }
        };
        if let Err(problem) = self.check_error_responses(operation, &keys) {
            problems.push(problem);
        }

        if problems.is_empty() {
            Ok(Operation { id, method: method.to_owned(), path: path.to_owned(), parameters, body, success, yaml_keys })
        } else {
            Err(problems)
        }
    }

    fn extract_parameter(&self, raw: &Value, keys: &[&str]) -> Result<Parameter, Diagnostic> {
        let parameter = self.resolve(raw, keys)?;
        let name = parameter.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
        let name_key = format!("name: {name}");
        let parameter_keys: Vec<&str> = keys.iter().copied().chain(["parameters", name_key.as_str()]).collect();
        let location = match parameter.get("in").and_then(Value::as_str) {
            Some("path") => ParameterLocation::Path,
            Some("query") => ParameterLocation::Query,
            Some(other) => {
                return Err(self
                    .diagnostic(
                        &parameter_keys,
                        format!("parameter `{name}` is in `{other}`; tools support only path and query parameters"),
                    )
                    .with_help("send headers from the SDK client (as the apiKey header is), not per operation"));
            }
            None => return Err(self.diagnostic(&parameter_keys, format!("parameter `{name}` has no `in`"))),
        };
        if let Some(style) = parameter.get("style").and_then(Value::as_str) {
            let default_style = if location == ParameterLocation::Path { "simple" } else { "form" };
            if style != default_style {
                return Err(self.diagnostic(
                    &parameter_keys,
                    format!("parameter `{name}` uses style `{style}`; progenitor supports only `{default_style}` here"),
                ));
            }
        }
        if parameter.get("content").is_some() {
            return Err(self.diagnostic(&parameter_keys, format!("parameter `{name}` uses `content`; give it a `schema` instead")));
        }
        let Some(schema) = parameter.get("schema").cloned() else {
            return Err(self.diagnostic(&parameter_keys, format!("parameter `{name}` has no schema")));
        };
        Ok(Parameter {
            name,
            location,
            required: parameter.get("required").and_then(Value::as_bool).unwrap_or(false) || location == ParameterLocation::Path,
            description: parameter.get("description").and_then(Value::as_str).map(str::to_owned),
            schema,
        })
    }

    fn extract_body(&self, raw: &Value, keys: &[&str]) -> Result<Value, Diagnostic> {
        let body_keys: Vec<&str> = keys.iter().copied().chain(["requestBody"]).collect();
        let body = self.resolve(raw, &body_keys)?;
        let content = body.get("content").and_then(Value::as_object).cloned().unwrap_or_default();
        let media_types: Vec<&String> = content.keys().collect();
        if media_types.len() != 1 || media_types[0] != "application/json" {
            let listed = media_types.iter().map(|media| format!("`{media}`")).collect::<Vec<_>>().join(", ");
            return Err(self
                .diagnostic(
                    &body_keys,
                    format!("the request body has media types [{listed}]; tools support exactly one, `application/json`"),
                )
                .with_help("progenitor accepts a single media type per body"));
        }
        content["application/json"].get("schema").cloned().ok_or_else(|| self.diagnostic(&body_keys, "the JSON request body has no schema"))
    }

    fn extract_success(&self, operation: &Value, keys: &[&str]) -> Result<Value, Diagnostic> {
        let response_keys: Vec<&str> = keys.iter().copied().chain(["responses"]).collect();
        let responses = operation.get("responses").and_then(Value::as_object).cloned().unwrap_or_default();
        let successes: Vec<(&String, &Value)> = responses.iter().filter(|(status, _)| status.starts_with('2')).collect();
        if successes.len() != 1 {
            return Err(self
                .diagnostic(&response_keys, format!("the operation has {} success responses; tools need exactly one", successes.len()))
                .with_help("progenitor allows one success body type per operation"));
        }
        let (status, raw) = successes[0];
        let status_keys: Vec<&str> = response_keys.iter().copied().chain([status.as_str()]).collect();
        let response = self.resolve(raw, &status_keys)?;
        response.pointer("/content/application~1json/schema").cloned().ok_or_else(|| {
            self.diagnostic(&status_keys, format!("success response {status} has no `application/json` schema; tools return JSON objects"))
        })
    }

    fn check_error_responses(&self, operation: &Value, keys: &[&str]) -> Result<(), Diagnostic> {
        let responses = operation.get("responses").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut schemas = std::collections::BTreeSet::new();
        for (status, raw) in responses.iter().filter(|(status, _)| !status.starts_with('2')) {
            let status_keys: Vec<&str> = keys.iter().copied().chain(["responses", status.as_str()]).collect();
            let response = self.resolve(raw, &status_keys)?;
            if let Some(schema) = response.pointer("/content/application~1json/schema") {
                schemas.insert(schema.to_string());
            }
        }
        if schemas.len() > 1 {
            return Err(self
                .diagnostic(
                    &[keys, &["responses"]].concat(),
                    "the error responses use different schemas; progenitor accepts one error type per operation",
                )
                .with_help("point every error status at the same schema, such as #/components/schemas/ErrorResponse"));
        }
        Ok(())
    }
}

/// Finds the line of `keys[last]` nested under the earlier keys, by indentation, in a
/// block-style YAML text. A key may also be written `name: value` to
/// find a list item. Returns the deepest key it found.
pub(crate) fn find_line(text: &str, keys: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = None;
    let mut start = 0;
    let mut parent_indent: Option<usize> = None;
    'keys: for key in keys {
        let quoted = format!("\"{}\":", key.split(": ").next().unwrap_or(key));
        for (index, line) in lines.iter().enumerate().skip(start) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if index > start && parent_indent.is_some_and(|parent| indent <= parent) && found.is_some() {
                break 'keys;
            }
            let content = trimmed.trim_start_matches("- ");
            let matches = if key.contains(": ") {
                content == *key
                    || content == format!("{}: \"{}\"", key.split(": ").next().unwrap_or(""), key.split(": ").nth(1).unwrap_or(""))
            } else {
                content.starts_with(&format!("{key}:")) || content.starts_with(&quoted)
            };
            if matches {
                found = Some(index + 1);
                start = index + 1;
                parent_indent = Some(indent);
                continue 'keys;
            }
        }
        break;
    }
    Some(found.unwrap_or(1))
}
