//! Translates an OpenAPI 3.1 document into the 3.0 terms progenitor reads (it parses 3.0
//! only). Each rule keeps what the 3.1 schema says where 3.0 can say it; the list is in
//! `openapi/README.md`. A construct 3.0 cannot say is left for the per-operation checks,
//! which name it.

use serde_json::{Map, Value, json};

/// Rewrites `tree` (a 3.1 document) in place into a 3.0.3 document.
pub(crate) fn translate(tree: &mut Value) {
    tree["openapi"] = json!("3.0.3");
    hoist_defs(tree);
    if let Some(object) = tree.as_object_mut() {
        for ignored in ["webhooks", "jsonSchemaDialect"] {
            object.remove(ignored);
        }
        object.entry("paths").or_insert_with(|| json!({}));
    }
    if let Some(license) = tree.pointer_mut("/info/license").and_then(Value::as_object_mut) {
        license.remove("identifier");
    }
    if let Some(components) = tree.get_mut("components").and_then(Value::as_object_mut) {
        components.remove("pathItems");
    }
    walk(tree);
}

/// `$defs` inside component schemas become component schemas of their own, because typify
/// keys references by their last segment only.
fn hoist_defs(tree: &mut Value) {
    let mut hoisted = Map::new();
    if let Some(schemas) = tree.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for schema in schemas.values_mut() {
            if let Some(Value::Object(defs)) = schema.as_object_mut().and_then(|schema| schema.remove("$defs")) {
                hoisted.extend(defs);
            }
        }
        for (name, schema) in hoisted {
            schemas.entry(name).or_insert(schema);
        }
    }
}

/// Visits every object of the document; schema rules apply where a schema can be.
fn walk(value: &mut Value) {
    match value {
        Value::Object(object) => {
            translate_schema(object);
            for child in object.values_mut() {
                walk(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        _ => {}
    }
}

fn translate_schema(schema: &mut Map<String, Value>) {
    reference_with_siblings(schema);
    type_lists(schema);
    null_branches(schema);
    keywords_3_0_says_otherwise(schema);
    boolean_schemas(schema);
}

fn reference_with_siblings(schema: &mut Map<String, Value>) {
    // `$ref` with siblings: 3.0 ignores the siblings, so the reference goes into an allOf.
    // A reference into `$defs` points at the schema `hoist_defs` made of it.
    if let Some(Value::String(reference)) = schema.get("$ref").cloned() {
        let reference = match reference.rsplit_once("/$defs/") {
            Some((_, name)) => format!("#/components/schemas/{name}"),
            None => reference,
        };
        if schema.len() > 1 {
            schema.remove("$ref");
            schema.insert("allOf".to_owned(), json!([{ "$ref": reference }]));
        } else {
            schema.insert("$ref".to_owned(), json!(reference));
        }
    }
}

fn type_lists(schema: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = schema.get("type").cloned() {
        let has_null = types.iter().any(|kind| kind == "null");
        let others: Vec<Value> = types.into_iter().filter(|kind| kind != "null").collect();
        schema.remove("type");
        match others.as_slice() {
            [] => {
                schema.insert("enum".to_owned(), json!([null]));
            }
            [single] => {
                schema.insert("type".to_owned(), single.clone());
            }
            several => {
                let branches: Vec<Value> = several.iter().map(|kind| json!({ "type": kind })).collect();
                schema.insert("oneOf".to_owned(), Value::Array(branches));
            }
        }
        if has_null {
            schema.insert("nullable".to_owned(), json!(true));
        }
    } else if schema.get("type") == Some(&json!("null")) {
        schema.remove("type");
        schema.insert("enum".to_owned(), json!([null]));
    }
}

fn null_branches(schema: &mut Map<String, Value>) {
    for keyword in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = schema.get(keyword).cloned() else { continue };
        let is_null = |branch: &Value| branch.get("type") == Some(&json!("null")) || branch == &json!({"enum": [null]});
        if !branches.iter().any(is_null) {
            continue;
        }
        let rest: Vec<Value> = branches.into_iter().filter(|branch| !is_null(branch)).collect();
        schema.remove(keyword);
        schema.insert("nullable".to_owned(), json!(true));
        let target = if rest.len() == 1 { "allOf" } else { keyword };
        schema.insert(target.to_owned(), Value::Array(rest));
    }
}

fn keywords_3_0_says_otherwise(schema: &mut Map<String, Value>) {
    for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(number @ Value::Number(_)) = schema.get(exclusive).cloned() {
            schema.insert(bound.to_owned(), number);
            schema.insert(exclusive.to_owned(), json!(true));
        }
    }
    if let Some(constant) = schema.remove("const") {
        schema.insert("enum".to_owned(), json!([constant]));
    }
    if let Some(Value::Array(examples)) = schema.get("examples").cloned()
        && schema.get("type").is_some()
    {
        schema.remove("examples");
        if let Some(first) = examples.into_iter().next() {
            schema.entry("example").or_insert(first);
        }
    }
    if schema.get("contentEncoding") == Some(&json!("base64")) {
        schema.remove("contentEncoding");
        schema.insert("format".to_owned(), json!("byte"));
    }
    if schema.remove("contentMediaType").is_some() && schema.get("type") == Some(&json!("string")) {
        schema.entry("format").or_insert(json!("binary"));
    }
    for dropped in [
        "prefixItems",
        "if",
        "then",
        "else",
        "dependentSchemas",
        "dependentRequired",
        "unevaluatedProperties",
        "unevaluatedItems",
        "patternProperties",
        "propertyNames",
        "contains",
        "$schema",
        "$id",
        "$comment",
    ] {
        schema.remove(dropped);
    }
}

fn boolean_schemas(schema: &mut Map<String, Value>) {
    // Boolean schemas: `true` allows anything, `false` nothing (a property that may not appear).
    if schema.get("items") == Some(&json!(true)) {
        schema.insert("items".to_owned(), json!({}));
    }
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        properties.retain(|_, property| property != &json!(false));
        for property in properties.values_mut() {
            if property == &json!(true) {
                *property = json!({});
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translated(schema: Value) -> Value {
        let mut tree = json!({"openapi": "3.1.0", "components": {"schemas": {"S": schema}}});
        translate(&mut tree);
        tree["components"]["schemas"]["S"].clone()
    }

    #[test]
    fn a_type_list_with_null_becomes_a_nullable_type() {
        assert_eq!(translated(json!({"type": ["string", "null"]})), json!({"type": "string", "nullable": true}));
        assert_eq!(translated(json!({"type": ["string", "integer"]})), json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}));
    }

    #[test]
    fn a_null_branch_becomes_nullable_and_a_single_rest_an_all_of() {
        let schema = translated(json!({"anyOf": [{"$ref": "#/components/schemas/T"}, {"type": "null"}]}));
        assert_eq!(schema, json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/T"}]}));
    }

    #[test]
    fn const_examples_exclusive_bounds_and_ref_siblings_are_said_in_3_0_terms() {
        assert_eq!(translated(json!({"const": "v1"})), json!({"enum": ["v1"]}));
        assert_eq!(translated(json!({"type": "integer", "examples": [3, 4]})), json!({"type": "integer", "example": 3}));
        assert_eq!(
            translated(json!({"type": "number", "exclusiveMinimum": 0})),
            json!({"type": "number", "exclusiveMinimum": true, "minimum": 0})
        );
        assert_eq!(
            translated(json!({"$ref": "#/components/schemas/T", "description": "d"})),
            json!({"description": "d", "allOf": [{"$ref": "#/components/schemas/T"}]})
        );
    }

    #[test]
    fn defs_are_hoisted_into_components_and_their_references_follow() {
        let mut tree = json!({"openapi": "3.1.0", "components": {"schemas": {
            "S": {"$defs": {"Inner": {"type": "string"}}, "properties": {"inner": {"$ref": "#/components/schemas/S/$defs/Inner"}}}
        }}});
        translate(&mut tree);
        assert_eq!(tree["openapi"], "3.0.3");
        assert_eq!(tree["components"]["schemas"]["Inner"], json!({"type": "string"}));
        assert_eq!(tree["components"]["schemas"]["S"]["properties"]["inner"], json!({"$ref": "#/components/schemas/Inner"}));
    }
}
