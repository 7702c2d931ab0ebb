//! Shaping a tool call's outcome into the MCP result: structured content with a text beside it
//! for a success, the error's message for a failure.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

use crate::mcp::error::ToolError;
use crate::mcp::spec::ToolSpec;

/// The MCP result of one call. A failure is still a result, not a protocol error, because
/// the model has to read the message to fix its call.
pub(crate) fn into_result(spec: &ToolSpec, outcome: Result<Value, ToolError>) -> CallToolResult {
    match outcome {
        Ok(value) => {
            let text = summary(spec, &value);
            let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
            result.structured_content = Some(value);
            result
        }
        Err(error) => CallToolResult::error(vec![ContentBlock::text(error.to_string())]),
    }
}

/// Results up to this size are also given as JSON text, for clients that read only text.
const FULL_TEXT_LIMIT: usize = 2048;

/// The text block beside `structuredContent`: the JSON itself when it is small, else a short
/// summary, so that a page of 50 messages is not sent twice. Clerk Chat wraps answers in
/// `{"data": ...}`; a list is summarized by its length and `total`, an object by its id and status.
fn summary(spec: &ToolSpec, value: &Value) -> String {
    let json = value.to_string();
    if json.len() <= FULL_TEXT_LIMIT {
        return json;
    }
    let data = value.get("data").unwrap_or(value);
    let described = match data {
        Value::Array(items) => match value.get("total").and_then(Value::as_i64) {
            Some(total) => format!("{} of {total} item(s)", items.len()),
            None => format!("{} item(s)", items.len()),
        },
        Value::Object(object) => {
            let id = object.get("id").map(|id| format!(" {id}")).unwrap_or_default();
            let status = object.get("status").and_then(Value::as_str).map(|status| format!(", status {status}")).unwrap_or_default();
            format!("one item{id}{status}")
        }
        other => other.to_string(),
    };
    format!("{}: {described}. The full result ({} bytes of JSON) is in structuredContent.", spec.title, json.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn large_results_get_a_summary_small_ones_their_json() {
        let spec = &crate::tools::GET_MESSAGES;
        let small = json!({"data": [], "total": 0});
        assert_eq!(summary(spec, &small), small.to_string());
        let page = json!({"data": vec![json!({"id": 1, "body": "x".repeat(100)}); 50], "total": 1000});
        assert_eq!(
            summary(spec, &page),
            format!(
                "Find messages: 50 of 1000 item(s). The full result ({} bytes of JSON) is in structuredContent.",
                page.to_string().len()
            )
        );
    }
}
