//! Arguments as real clients send them, read before validation: a `null` for an optional
//! argument left out, and numbers or booleans sent as strings. Nothing here loosens a rule:
//! the values are validated against the full schema afterwards.

use serde_json::{Map, Value};

/// Many MCP clients send `null` for an optional argument the model left out. Where the
/// argument does not accept `null`, that can only mean "not given", so it is dropped
/// instead of failing the call.
pub(crate) fn drop_nulls_meaning_absent(arguments: &mut Map<String, Value>, schema: &Value) {
    let required: Vec<&str> = schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    arguments.retain(|name, value| {
        if !value.is_null() || required.contains(&name.as_str()) {
            return true;
        }
        property_schema(schema, name).is_some_and(accepts_null)
    });
    // Nested objects too: a strict client (OpenAI) sends `null` for every optional field it
    // leaves out, at every depth.
    for (name, value) in arguments.iter_mut() {
        let Some(property) = property_schema(schema, name) else { continue };
        match value {
            Value::Object(object) => drop_nulls_meaning_absent(object, property),
            Value::Array(items) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    drop_nulls_meaning_absent(item, property.get("items").unwrap_or(&Value::Null));
                }
            }
            _ => {}
        }
    }
}

/// Models often send numbers and booleans as strings (`"limit": "5"`). Where the schema wants
/// an integer, a number or a boolean and not a string, a string that is exactly one (`"5"`,
/// `"2.5"`, `"true"`) is read as it; every range and pattern check still applies to the value.
pub(crate) fn read_scalars_sent_as_strings(arguments: &mut Map<String, Value>, schema: &Value) {
    for (name, value) in arguments.iter_mut() {
        let Some(property) = property_schema(schema, name) else { continue };
        read_scalar(value, property);
    }
}

fn read_scalar(value: &mut Value, schema: &Value) {
    let kinds: Vec<&str> = match schema.get("type") {
        Some(Value::String(kind)) => vec![kind.as_str()],
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    match value {
        Value::String(text) if !kinds.contains(&"string") => {
            let parsed = if kinds.contains(&"integer") {
                text.parse::<i64>().ok().map(Value::from)
            } else if kinds.contains(&"number") {
                text.parse::<f64>().ok().filter(|number| number.is_finite()).and_then(serde_json::Number::from_f64).map(Value::Number)
            } else if kinds.contains(&"boolean") {
                match text.as_str() {
                    "true" => Some(Value::Bool(true)),
                    "false" => Some(Value::Bool(false)),
                    _ => None,
                }
            } else {
                None
            };
            if let Some(parsed) = parsed {
                *value = parsed;
            }
        }
        Value::Object(object) => read_scalars_sent_as_strings(object, schema),
        Value::Array(items) => {
            if let Some(items_schema) = schema.get("items") {
                items.iter_mut().for_each(|item| read_scalar(item, items_schema));
            }
        }
        _ => {}
    }
}

fn accepts_null(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(kind)) => kind == "null",
        Some(Value::Array(kinds)) => kinds.iter().any(|kind| kind == "null"),
        _ => ["anyOf", "oneOf"]
            .iter()
            .any(|keyword| schema.get(*keyword).and_then(Value::as_array).is_some_and(|members| members.iter().any(accepts_null))),
    }
}

/// The schema of property `name` of an object schema. A lookup rather than a JSON pointer: it
/// runs for every argument of every call, and a name with `/` or `~` needs no escaping.
fn property_schema<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    schema.get("properties")?.get(name)
}
