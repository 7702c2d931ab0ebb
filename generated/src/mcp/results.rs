//! Shaping a tool call's outcome into the MCP result: structured content with a text beside it
//! for a success, the error's message for a failure.
//!
//! The text carries the data too, for clients that show the model only `content`: small
//! results as their JSON, larger ones as a compact rendering with every present field (a table
//! for a list: the field names once, then one line per item), which a model reads in fewer
//! tokens than the JSON. `structuredContent` keeps the whole answer as Clerk Chat sent it,
//! checked against the output schema, less the `null`s of fields the schema does not require:
//! a model reads absence as well as `null`, and reads fewer tokens.

use std::fmt::Write as _;

use rmcp::model::{CallToolResult, ContentBlock, Tool};
use serde_json::Value;

use crate::mcp::error::ToolError;
use crate::mcp::spec::ToolSpec;

/// A tool's output schema as `tools/list` shows it, compiled once, which every result is
/// made to conform to: MCP requires `structuredContent` to, and strict clients check it.
pub(crate) struct OutputShape {
    schema: Value,
    validator: jsonschema::Validator,
}

impl OutputShape {
    /// `tool` is the tool as `spec` lists it: its output schema is parsed once, there.
    pub(crate) fn new(spec: &ToolSpec, tool: &Tool) -> OutputShape {
        let schema = Value::Object(tool.output_schema.as_deref().cloned().unwrap_or_default());
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .unwrap_or_else(|error| panic!("the generated output schema of `{}` is not a valid JSON Schema: {error}", spec.name));
        OutputShape { schema, validator }
    }

    /// The result with its optional `null`s left out, if it then fits the schema. Clerk
    /// Chat's answers are passed on as JSON, not parsed into the SDK's types, so this is what
    /// stands between an answer unlike the API's description and a client.
    pub(crate) fn conform(&self, mut value: Value) -> Result<Value, ToolError> {
        leave_out_optional_nulls(&mut value, &self.schema);
        match self.validator.validate(&value) {
            Ok(()) => Ok(value),
            // Where and which rule, not the value: it can be anything the upstream sent.
            Err(error) => Err(ToolError::UnexpectedAnswer {
                message: format!("at `{}` it breaks the schema's `{}` rule", error.instance_path(), rule_of(&error)),
            }),
        }
    }
}

/// The keyword of the schema that `error` broke, such as `type` or `required`.
fn rule_of(error: &jsonschema::ValidationError<'_>) -> String {
    let path = error.schema_path().to_string();
    path.rsplit('/').next().unwrap_or_default().to_owned()
}

/// The MCP result of one call. A failure is still a result, not a protocol error, because
/// the model has to read the message to fix its call.
pub(crate) fn into_result(spec: &ToolSpec, outcome: Result<Value, ToolError>) -> CallToolResult {
    match outcome {
        Ok(value) => {
            let text = text_of(spec, &value);
            let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
            result.structured_content = Some(value);
            result
        }
        Err(error) => CallToolResult::error(vec![ContentBlock::text(error.to_string())]),
    }
}

/// Removes the members that are `null` where `schema` does not require them, through properties
/// and items: the walk the generator's `shape_of_results` assumes when it takes `null` out of
/// those fields' types.
fn leave_out_optional_nulls(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(fields) => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return };
            let required = schema.get("required").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            fields.retain(|name, field| !field.is_null() || required.iter().any(|required| required.as_str() == Some(name)));
            // Only objects and lists have members to leave out: no schema lookup for the rest.
            for (name, field) in fields.iter_mut().filter(|(_, field)| field.is_object() || field.is_array()) {
                if let Some(property) = properties.get(name) {
                    leave_out_optional_nulls(field, property);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                items.iter_mut().for_each(|each| leave_out_optional_nulls(each, item));
            }
        }
        _ => {}
    }
}

/// Results up to this size are given as their JSON, exactly; larger ones are rendered.
const FULL_TEXT_LIMIT: usize = 2048;

/// The text block beside `structuredContent`. Clerk Chat wraps answers in `{"data": ...}`,
/// with `total` beside a list; the other top-level fields (cost, provider selection) follow.
fn text_of(spec: &ToolSpec, value: &Value) -> String {
    if let Some(json) = json_up_to(value, FULL_TEXT_LIMIT) {
        return json;
    }
    let Value::Object(top) = value else { return value.to_string() };
    let mut text = String::with_capacity(FULL_TEXT_LIMIT * 4);
    match top.get("data") {
        Some(Value::Array(items)) => {
            let _ = match top.get("total").and_then(Value::as_i64) {
                Some(total) if total > items.len() as i64 => {
                    writeln!(text, "{}: {} of {total}, one per line; more on the next pages.", spec.title, items.len())
                }
                _ => writeln!(text, "{}: {}, one per line.", spec.title, items.len()),
            };
            table(items, &mut text);
        }
        Some(Value::Object(fields)) => {
            let _ = writeln!(text, "{}:", spec.title);
            fields_as_lines(fields.iter(), &mut text);
        }
        _ => return value.to_string(),
    }
    fields_as_lines(top.iter().filter(|(name, _)| !matches!(name.as_str(), "data" | "total")), &mut text);
    text
}

/// `value` as compact JSON when that is at most `limit` bytes; serializing stops as soon as it
/// is longer, so a large result costs no JSON text it will not use.
fn json_up_to(value: &Value, limit: usize) -> Option<String> {
    struct Bounded {
        bytes: Vec<u8>,
        limit: usize,
    }
    impl std::io::Write for Bounded {
        fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
            if self.bytes.len() + buffer.len() > self.limit {
                return Err(std::io::ErrorKind::FileTooLarge.into());
            }
            self.bytes.extend_from_slice(buffer);
            Ok(buffer.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut writer = Bounded { bytes: Vec::with_capacity(256), limit };
    serde_json::to_writer(&mut writer, value).ok()?;
    // serde_json writes only valid UTF-8.
    String::from_utf8(writer.bytes).ok()
}

/// Each field that says something as a `name: value` line.
fn fields_as_lines<'a>(fields: impl Iterator<Item = (&'a String, &'a Value)>, text: &mut String) {
    for (name, field) in fields.filter(|(_, field)| present(field)) {
        text.push_str(name);
        text.push_str(": ");
        cell(field, text);
        text.push('\n');
    }
}

/// The items as a table: the names of the fields any item has, once, then one line per item.
/// Items that are not objects get a line of their own.
fn table(items: &[Value], text: &mut String) {
    let mut columns: Vec<&str> = Vec::new();
    for item in items.iter().filter_map(Value::as_object) {
        for (name, field) in item {
            if present(field) && !columns.contains(&name.as_str()) {
                columns.push(name);
            }
        }
    }
    // The id leads, as the field a model refers back to.
    if let Some(position) = columns.iter().position(|column| *column == "id") {
        let id = columns.remove(position);
        columns.insert(0, id);
    }
    text.push_str(&columns.join(" | "));
    text.push('\n');
    for item in items {
        match item {
            Value::Object(fields) => {
                for (index, column) in columns.iter().enumerate() {
                    if index > 0 {
                        text.push_str(" | ");
                    }
                    if let Some(field) = fields.get(*column).filter(|field| present(field)) {
                        cell(field, text);
                    }
                }
            }
            other => cell(other, text),
        }
        text.push('\n');
    }
}

/// Whether a field says anything: null, empty text and empty lists or maps do not.
fn present(field: &Value) -> bool {
    match field {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// One value on one line, appended to `text`: text as it is (line breaks and the column
/// separator escaped), a list of plain values joined by commas, anything else as compact JSON.
fn cell(field: &Value, text: &mut String) {
    match field {
        Value::String(value) => escaped(value, text),
        Value::Array(items) if items.iter().all(|item| !item.is_array() && !item.is_object()) => {
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    text.push_str(", ");
                }
                cell(item, text);
            }
        }
        other => {
            let _ = write!(text, "{other}");
        }
    }
}

/// `value` on one line of a table, appended to `text` in one pass: a backslash, line breaks
/// and the column separator are escaped.
fn escaped(value: &str, text: &mut String) {
    text.reserve(value.len());
    for character in value.chars() {
        match character {
            '\\' => text.push_str("\\\\"),
            '\n' => text.push_str("\\n"),
            '\r' => text.push_str("\\r"),
            '|' => text.push_str("\\|"),
            other => text.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_are_left_out_where_the_schema_does_not_require_the_field() {
        let schema = json!({"type": "object", "required": ["data", "next"], "properties": {
            "data": {"type": "array", "items": {"type": "object", "required": ["id", "error"], "properties": {
                "id": {"type": "integer"}, "error": {"type": ["string", "null"]}, "note": {"type": "string"},
                "extra": {"anyOf": [{"type": "object"}, {"type": "null"}]}}}},
            "next": {"type": ["string", "null"]}, "prev": {"type": "string"}}});
        let mut page = json!({"data": [{"id": 1, "error": null, "note": null, "extra": {"inner": null}, "unlisted": null}],
                              "next": null, "prev": null});
        leave_out_optional_nulls(&mut page, &schema);
        assert_eq!(page, json!({"data": [{"id": 1, "error": null, "extra": {"inner": null}}], "next": null}));
    }

    #[test]
    fn small_results_are_their_json() {
        let small = json!({"data": [], "total": 0});
        assert_eq!(text_of(&crate::tools::GET_MESSAGES, &small), small.to_string());
    }

    #[test]
    fn a_large_page_is_a_table_with_every_present_field_of_every_item() {
        let message = |id: i64| {
            json!({"body": format!("line one\nline | two {id} {}", "x".repeat(60)), "status": "sent", "error": null,
                   "members": ["+15551234567", "+15559876543"], "seen": false, "id": id})
        };
        let page = json!({"data": (1..=50).map(message).collect::<Vec<_>>(), "total": 1000});
        let text = text_of(&crate::tools::GET_MESSAGES, &page);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Find messages: 50 of 1000, one per line; more on the next pages.");
        assert_eq!(lines[1], "id | body | status | members | seen", "null fields are left out, the id leads");
        assert_eq!(lines.len(), 52, "a header, the columns, one line per message");
        assert_eq!(lines[2], format!("1 | line one\\nline \\| two 1 {} | sent | +15551234567, +15559876543 | false", "x".repeat(60)));
        assert!(text.len() < page.to_string().len(), "shorter than the JSON");
    }

    #[test]
    fn a_large_object_lists_its_fields_and_the_rest_of_the_result() {
        let sent = json!({"data": {"id": 7, "body": "y".repeat(3000), "error": null}, "cost": {"segments": 19}});
        let text = text_of(&crate::tools::SEND_MESSAGE, &sent);
        assert!(text.contains("\nid: 7\n") && text.contains(&format!("body: {}", "y".repeat(3000))), "{text}");
        assert!(text.contains("cost: {\"segments\":19}") && !text.contains("error"), "{text}");
    }
}
