//! Client profiles: the tool schemas as a particular MCP client is known to accept them. Each
//! rule below cites where the client's own documentation, source or issue tracker shows it
//! (`shared/reference/client-quirks.md` collects them). A profile changes only what is listed;
//! calls are still validated against the full schema, and an error that comes from a rule the
//! client was not shown says so.

use serde_json::{Map, Value, json};

/// Which client's rules shape the listed schemas (`--client`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientProfile {
    /// The schemas as generated: JSON Schema 2020-12, every constraint of the spec.
    #[default]
    Generic,
    /// Claude Code, Claude Desktop and claude.ai connectors.
    Claude,
    /// Cursor.
    Cursor,
    /// OpenAI: the Responses API, the Agents SDK and ChatGPT, in strict mode.
    OpenAi,
    /// Gemini CLI and the Gemini API.
    Gemini,
}

impl ClientProfile {
    /// Whether the tool's output schema is listed. Claude: claude.ai and Claude Desktop fail
    /// on nested output schemas (anthropics/claude-ai-mcp#121) and on `anyOf` in them (#485),
    /// and their model reads `content`, not `structuredContent` (anthropics/claude-code#55677),
    /// so the schema costs tokens and risks the connector for nothing.
    pub fn lists_output_schema(self) -> bool {
        self != ClientProfile::Claude
    }

    /// The input schema as this client is shown it.
    pub fn adapt_input_schema(self, schema: &Value) -> Value {
        let mut adapted = schema.clone();
        match self {
            ClientProfile::Generic | ClientProfile::Claude => {}
            ClientProfile::Cursor => walk(&mut adapted, &mut cursor_rules),
            ClientProfile::OpenAi => walk(&mut adapted, &mut openai_strict_rules),
            ClientProfile::Gemini => walk(&mut adapted, &mut gemini_rules),
        }
        adapted
    }
}

/// Applies `rule` to every schema object, parents before children.
fn walk(schema: &mut Value, rule: &mut dyn FnMut(&mut Map<String, Value>)) {
    let Some(object) = schema.as_object_mut() else { return };
    rule(object);
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        properties.values_mut().for_each(|property| walk(property, rule));
    }
    for keyword in ["items", "additionalProperties"] {
        if let Some(child) = object.get_mut(keyword) {
            walk(child, rule);
        }
    }
    for keyword in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(members)) = object.get_mut(keyword) {
            members.iter_mut().for_each(|member| walk(member, rule));
        }
    }
}

/// `type: [T, "null"]` as `type: T`, and a composition with a null branch as its other branch.
fn without_null(schema: &mut Map<String, Value>) {
    if let Some(Value::Array(kinds)) = schema.get("type").cloned() {
        let others: Vec<Value> = kinds.into_iter().filter(|kind| kind != "null").collect();
        if let [single] = others.as_slice() {
            schema.insert("type".to_owned(), single.clone());
        }
    }
    for keyword in ["anyOf", "oneOf"] {
        let Some(Value::Array(members)) = schema.get(keyword).cloned() else { continue };
        let others: Vec<Value> = members.into_iter().filter(|member| member != &json!({"type": "null"})).collect();
        if let [Value::Object(single)] = others.as_slice() {
            schema.remove(keyword);
            for (key, value) in single {
                schema.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
    }
}

/// Cursor: a `type` array fails at call time (cursor/cursor#3778), and any `oneOf`/`anyOf`/
/// `allOf` is refused with Claude models through its agent API (code-yeongyu/senpi#952). Null
/// branches go (a null the caller does not send is the same as leaving the argument out); any
/// other composition is dropped, leaving its description.
fn cursor_rules(schema: &mut Map<String, Value>) {
    without_null(schema);
    for keyword in ["anyOf", "oneOf", "allOf"] {
        schema.remove(keyword);
    }
}

/// OpenAI strict mode (platform.openai.com/docs/guides/structured-outputs, "Supported
/// schemas"): every property is listed in `required`, an optional one is made nullable (the
/// server reads a `null` as left out), every object is closed with `additionalProperties:
/// false`, and `allOf` is not allowed (the generator merges single-member ones already).
fn openai_strict_rules(schema: &mut Map<String, Value>) {
    let required: Vec<String> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect();
    let Some(Value::Object(properties)) = schema.get_mut("properties") else { return };
    for (name, property) in properties.iter_mut() {
        if !required.contains(name) {
            make_nullable(property);
        }
    }
    let every: Vec<Value> = properties.keys().map(|name| json!(name)).collect();
    schema.insert("required".to_owned(), Value::Array(every));
    schema.entry("additionalProperties").or_insert(json!(false));
}

fn make_nullable(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else { return };
    match object.get("type").cloned() {
        Some(Value::String(kind)) if kind != "null" => {
            object.insert("type".to_owned(), json!([kind, "null"]));
            if let Some(Value::Array(values)) = object.get_mut("enum")
                && !values.contains(&Value::Null)
            {
                values.push(Value::Null);
            }
        }
        Some(Value::Array(mut kinds)) if !kinds.contains(&json!("null")) => {
            kinds.push(json!("null"));
            object.insert("type".to_owned(), Value::Array(kinds));
        }
        Some(_) => {}
        None => {
            let inner = std::mem::take(object);
            object.insert("anyOf".to_owned(), json!([inner, {"type": "null"}]));
        }
    }
}

/// Gemini: the API rejects `type` arrays and the keywords `additionalProperties`,
/// `exclusiveMinimum`, `exclusiveMaximum` and `propertyNames` in OpenAPI-style parameters
/// (zendev-sh/zenflow#14, sooperset/mcp-atlassian#626); the CLI itself writes
/// `[T, "null"]` as `T` with `nullable` (gemini-cli packages/core/src/tools/mcp-client.ts).
fn gemini_rules(schema: &mut Map<String, Value>) {
    let nullable = schema.get("type").and_then(Value::as_array).is_some_and(|kinds| kinds.contains(&json!("null")));
    without_null(schema);
    if nullable {
        schema.insert("nullable".to_owned(), json!(true));
    }
    for keyword in ["additionalProperties", "exclusiveMinimum", "exclusiveMaximum", "propertyNames"] {
        schema.remove(keyword);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "limit": {"type": "integer", "exclusiveMinimum": 0},
                "start": {"type": ["string", "null"], "format": "date-time"},
                "kind": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}]}
            },
            "required": ["limit"],
            "additionalProperties": false
        })
    }

    #[test]
    fn generic_and_claude_list_the_schema_as_generated() {
        assert_eq!(ClientProfile::Generic.adapt_input_schema(&schema()), schema());
        assert_eq!(ClientProfile::Claude.adapt_input_schema(&schema()), schema());
        assert!(!ClientProfile::Claude.lists_output_schema());
    }

    #[test]
    fn cursor_gets_single_types_and_no_compositions() {
        let adapted = ClientProfile::Cursor.adapt_input_schema(&schema());
        assert_eq!(adapted["properties"]["start"]["type"], "string");
        assert_eq!(adapted["properties"]["kind"], json!({"type": "string", "enum": ["a", "b"]}));
    }

    #[test]
    fn openai_strict_requires_every_property_with_optional_ones_nullable() {
        let adapted = ClientProfile::OpenAi.adapt_input_schema(&schema());
        assert_eq!(adapted["required"], json!(["limit", "start", "kind"]));
        assert_eq!(adapted["properties"]["limit"]["type"], "integer", "a required property stays as it is");
        assert_eq!(adapted["properties"]["start"]["type"], json!(["string", "null"]));
        assert_eq!(adapted["additionalProperties"], false);
    }

    #[test]
    fn gemini_gets_nullable_and_none_of_the_keywords_it_rejects() {
        let adapted = ClientProfile::Gemini.adapt_input_schema(&schema());
        assert_eq!(adapted["properties"]["start"], json!({"type": "string", "format": "date-time", "nullable": true}));
        assert!(adapted["properties"]["limit"].get("exclusiveMinimum").is_none());
        assert!(adapted.get("additionalProperties").is_none());
    }
}
