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
    /// The spec as progenitor reads it: 3.1 translated to 3.0, left-out operations removed,
    /// and each carried operation in the form progenitor generates without panicking.
    pub(crate) openapi: openapiv3::OpenAPI,
    pub(crate) operations: Vec<Operation>,
    pub(crate) left_out: Vec<LeftOut>,
}

pub(crate) use crate::operation::{BodyEncoding, Operation, ParameterLocation, Success};

/// An operation of the spec that is not in the SDK, and why. When the manifest names it,
/// its problems are errors; otherwise it is left out with a one-line warning.
#[derive(Debug, Clone)]
pub(crate) struct LeftOut {
    /// The operationId, or `METHOD /path` for an operation without one.
    pub(crate) name: String,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) problems: Vec<Diagnostic>,
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

impl LeftOut {
    /// The warning `cargo codegen` prints: one line, at the operation, with every reason.
    pub(crate) fn warning(&self) -> String {
        let first = self.problems.first();
        let location = match first.and_then(|problem| problem.line) {
            Some(line) => format!("{}:{line}", first.map(|problem| problem.file.as_str()).unwrap_or_default()),
            None => first.map(|problem| problem.file.clone()).unwrap_or_default(),
        };
        format!("{location}: warning: {} is left out of the SDK: {}", self.describe(), self.reason())
    }

    /// `operation `x` (POST /things)`.
    pub(crate) fn describe(&self) -> String {
        let request = format!("{} {}", self.method.to_uppercase(), self.path);
        if self.name == request { format!("operation `{request}`") } else { format!("operation `{}` ({request})", self.name) }
    }

    /// Every problem's message, in one line.
    pub(crate) fn reason(&self) -> String {
        self.problems.iter().map(|problem| problem.message.replace('\n', " ")).collect::<Vec<_>>().join("; ")
    }
}

impl Spec {
    pub(crate) fn load(file: &str, text: &str) -> Result<Spec, Diagnostics> {
        let mut tree: Value = serde_yaml::from_str(text).map_err(|error| {
            let line = error.location().map(|location| location.line());
            Diagnostic::new(file, line, format!("the spec is not valid YAML: {error}"))
        })?;
        let version = tree.get("openapi").and_then(Value::as_str).unwrap_or("").to_owned();
        if version.starts_with("3.1.") {
            crate::openapi31::translate(&mut tree);
        } else if !version.starts_with("3.0.") {
            return Err(Diagnostic::new(
                file,
                find_line(text, &["openapi"]),
                format!("unsupported OpenAPI version `{version}`: the generator reads OpenAPI 3.0.x and 3.1.x"),
            )
            .into());
        }
        let mistakes = unknown_types(&mut vec!["components".to_owned()], tree.get("components").unwrap_or(&Value::Null));
        if !mistakes.is_empty() {
            let diagnostics = mistakes.into_iter().map(|(keys, problem)| {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                Diagnostic::new(file, find_line(text, &keys), problem)
            });
            return Err(Diagnostics(diagnostics.collect()));
        }
        let empty = openapiv3::OpenAPI::default();
        let mut spec =
            Spec { file: file.to_owned(), text: text.to_owned(), tree, openapi: empty, operations: Vec::new(), left_out: Vec::new() };
        let for_sdk = spec.extract_operations();
        spec.openapi = spec.parse_for_progenitor(for_sdk)?;
        Ok(spec)
    }

    /// Parses the document progenitor is given. An operation whose part of it does not parse
    /// is left out (the error names where); anything else that does not parse stops the run.
    fn parse_for_progenitor(&mut self, mut tree: Value) -> Result<openapiv3::OpenAPI, Diagnostics> {
        loop {
            match serde_path_to_error::deserialize::<_, openapiv3::OpenAPI>(&tree) {
                Ok(openapi) => return Ok(openapi),
                Err(error) => {
                    let at = error.path().to_string();
                    let problem = format!("it is not valid OpenAPI 3.0 at `{at}`: {}", error.inner());
                    let segments: Vec<&str> = at.split('.').collect();
                    let operation = match segments.as_slice() {
                        ["paths", path, method, ..] => Some(((*path).to_owned(), (*method).to_owned())),
                        _ => None,
                    };
                    let Some((path, method)) = operation.filter(|(path, method)| tree["paths"][path].get(method).is_some()) else {
                        let line = self.line_of(&segments);
                        return Err(
                            Diagnostic::new(&self.file, line, format!("the spec is not a valid OpenAPI document: {problem}")).into()
                        );
                    };
                    let name = tree["paths"][&path][&method]["operationId"].as_str().map(str::to_owned);
                    self.operations.retain(|operation| !(operation.path == path && operation.method == method));
                    let diagnostic = self.diagnostic(&["paths", &path, &method], problem);
                    self.leave_out(name, &method, &path, vec![diagnostic]);
                    remove_operation(&mut tree, &path, &method);
                }
            }
        }
    }

    fn leave_out(&mut self, name: Option<String>, method: &str, path: &str, problems: Vec<Diagnostic>) {
        let name = name.filter(|name| !name.is_empty()).unwrap_or_else(|| format!("{} {path}", method.to_uppercase()));
        self.left_out.push(LeftOut { name, method: method.to_owned(), path: path.to_owned(), problems });
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

    pub(crate) fn resolve<'a>(&'a self, value: &'a Value, keys: &[&str]) -> Result<&'a Value, Diagnostic> {
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

    /// Sorts the operations into carried and left out, and returns the tree progenitor is
    /// to read: carried operations as `operation::extract` rewrote them, the others removed.
    fn extract_operations(&mut self) -> Value {
        let mut for_sdk = self.tree.clone();
        let paths = self.tree.get("paths").and_then(Value::as_object).cloned().unwrap_or_default();
        for (path, item) in &paths {
            for method in METHODS {
                let Some(raw) = item.get(method) else { continue };
                let name = raw.get("operationId").and_then(Value::as_str).map(str::to_owned);
                if item.get("$ref").is_some() {
                    let problem = self.diagnostic(
                        &["paths", path],
                        format!("path item `{path}` is a `$ref`, which progenitor does not support; write it inline"),
                    );
                    self.leave_out(name, method, path, vec![problem]);
                    remove_operation(&mut for_sdk, path, method);
                    continue;
                }
                let shared_parameters = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
                let extracted = crate::operation::extract(self, path, method, raw, &shared_parameters);
                match extracted {
                    Ok((operation, _)) if self.operations.iter().any(|seen| seen.id == operation.id) => {
                        let problem = self
                            .diagnostic(&["paths", path, method], format!("operationId `{}` is used twice", operation.id))
                            .with_help("operation ids must be unique; rename one");
                        self.leave_out(name, method, path, vec![problem]);
                        remove_operation(&mut for_sdk, path, method);
                    }
                    Ok((operation, rewritten)) => {
                        for_sdk["paths"][path.as_str()][method] = rewritten;
                        self.operations.push(operation);
                    }
                    Err(problems) => {
                        self.leave_out(name, method, path, problems);
                        remove_operation(&mut for_sdk, path, method);
                    }
                }
            }
        }
        for_sdk
    }
}

/// The schema types OpenAPI knows.
const TYPES: [&str; 7] = ["string", "number", "integer", "boolean", "array", "object", "null"];

/// Every `type` under `value` that is not a schema type (`type: bool`), with the YAML keys that
/// lead to it and a message with the closest type: progenitor would panic on it with no place.
/// Security schemes (whose `type` is `apiKey`, `http`...) and example values are not schemas.
pub(crate) fn unknown_types(keys: &mut Vec<String>, value: &Value) -> Vec<(Vec<String>, String)> {
    let mut found = Vec::new();
    match value {
        Value::Object(object) => {
            if let Some(Value::String(kind)) = object.get("type")
                && !TYPES.contains(&kind.as_str())
            {
                let hint = did_you_mean(kind, TYPES.iter().copied()).map(|hint| format!("; {hint}")).unwrap_or_default();
                let mut at = keys.clone();
                // `type: int` as a list item's key: the line finder reads it as a value match.
                at.push(format!("type: {kind}"));
                found.push((at, format!("`type: {kind}` is not an OpenAPI schema type{hint}")));
            }
            for (key, child) in object {
                let skipped = matches!(key.as_str(), "securitySchemes" | "example" | "examples" | "default" | "enum" | "const")
                    || key.starts_with("x-");
                if !skipped {
                    keys.push(key.clone());
                    found.extend(unknown_types(keys, child));
                    keys.pop();
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| found.extend(unknown_types(keys, item))),
        _ => {}
    }
    found
}

/// Removes one operation from a spec tree, and its path when no operation is left there.
fn remove_operation(tree: &mut Value, path: &str, method: &str) {
    let Some(paths) = tree.get_mut("paths").and_then(Value::as_object_mut) else { return };
    let Some(item) = paths.get_mut(path).and_then(Value::as_object_mut) else { return };
    item.remove(method);
    if !METHODS.iter().any(|method| item.contains_key(*method)) {
        paths.remove(path);
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
