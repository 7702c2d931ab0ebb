//! Proves that the tool schemas keep every constraint the spec states, and contain nothing
//! a strict MCP client rejects. The spec is read here independently of the generator's inliner.

use clerk_codegen::plan::ArgumentLocation;
use clerk_codegen::{Inputs, MANIFEST_PATH, SPEC_PATH, generate, workspace_root};
use serde_json::{Value, json};

const CONSTRAINTS: [&str; 12] = [
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "const",
    "required",
];

/// What an output schema leaves out of the constraints: format refinements and numeric bounds.
const OUTPUT_LEAVES_OUT: [&str; 4] = ["format", "minimum", "maximum", "multipleOf"];

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => resolve(spec, spec.pointer(reference.trim_start_matches('#')).expect("references resolve")),
        None => schema,
    }
}

/// Which schema of a tool is checked. An output schema is the shape of results: it keeps what
/// decides which JSON a client accepts, not formats, bounds or descriptions, and a nullable
/// property its object does not require loses `null` (results leave such a `null` out), except
/// below a union member or a map, where results are not walked.
#[derive(Clone, Copy)]
enum Side {
    Input,
    Output { walked: bool, optional: bool },
}

/// Every constraint of `source` (an OpenAPI 3.0 schema) is in `tool` (the tool's JSON Schema).
fn assert_kept(spec: &Value, source: &Value, tool: &Value, at: &str, side: Side) {
    let source = resolve(spec, source);
    if let Some(members) = source.get("allOf").and_then(Value::as_array)
        && members.len() == 1
    {
        // OpenAPI 3.0's way to put `nullable` beside a `$ref`: the outer keywords apply too.
        let mut merged = resolve(spec, &members[0]).as_object().cloned().unwrap_or_default();
        merged
            .extend(source.as_object().unwrap().iter().filter(|(key, _)| *key != "allOf").map(|(key, value)| (key.clone(), value.clone())));
        return assert_kept(spec, &Value::Object(merged), tool, at, side);
    }
    for keyword in CONSTRAINTS {
        if let Side::Output { .. } = side
            && OUTPUT_LEAVES_OUT.contains(&keyword)
        {
            assert_eq!(tool.get(keyword), None, "{at}: `{keyword}` in an output schema");
            continue;
        }
        if let Some(expected) = source.get(keyword) {
            if keyword == "format" && numeric_format_kept_as_bounds(expected, tool, at) {
                continue;
            }
            assert_eq!(tool.get(keyword), Some(expected), "{at}: `{keyword}` lost or changed");
        }
    }
    if let Some(expected) = source.get("enum").and_then(Value::as_array) {
        let found: Vec<&Value> =
            tool["enum"].as_array().unwrap_or_else(|| panic!("{at}: `enum` lost")).iter().filter(|value| !value.is_null()).collect();
        assert_eq!(found, expected.iter().collect::<Vec<_>>(), "{at}: enum values changed");
    }
    if let Some(kind) = source.get("type") {
        let null_left_out = matches!(side, Side::Output { walked: true, optional: true });
        let nullable = source.get("nullable") == Some(&json!(true)) && !null_left_out;
        let expected = if nullable { json!([kind, "null"]) } else { kind.clone() };
        assert_eq!(tool.get("type"), Some(&expected), "{at}: type changed");
    }
    if let Some(properties) = source.get("properties").and_then(Value::as_object) {
        let required = source.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
        for (name, property) in properties {
            let side = match side {
                Side::Input => Side::Input,
                Side::Output { walked, .. } => Side::Output { walked, optional: !required.contains(&json!(name)) },
            };
            assert_kept(spec, property, &tool["properties"][name], &format!("{at}.{name}"), side);
        }
    }
    if let Some(items) = source.get("items") {
        let side = match side {
            Side::Input => Side::Input,
            Side::Output { walked, .. } => Side::Output { walked, optional: false },
        };
        assert_kept(spec, items, &tool["items"], &format!("{at}[]"), side);
    }
    for keyword in ["oneOf", "anyOf"] {
        if let Some(members) = source.get(keyword).and_then(Value::as_array) {
            for (index, member) in members.iter().enumerate() {
                let side = match side {
                    Side::Input => Side::Input,
                    Side::Output { .. } => Side::Output { walked: false, optional: false },
                };
                assert_kept(spec, member, &tool[keyword][index], &format!("{at}/{keyword}/{index}"), side);
            }
        }
    }
}

/// OpenAPI's numeric formats are not JSON Schema's: the tool schema drops them, and keeps
/// `int32`'s range as bounds (the spec's own, or the 32-bit limits). True when `format` is one.
fn numeric_format_kept_as_bounds(format: &Value, tool: &Value, at: &str) -> bool {
    match format.as_str() {
        Some("int32") => {
            let bound = |name: &str| tool.get(name).and_then(Value::as_i64).unwrap_or_else(|| panic!("{at}: int32 without `{name}`"));
            assert!(bound("minimum") >= i64::from(i32::MIN) && bound("maximum") <= i64::from(i32::MAX), "{at}: int32 range lost");
        }
        Some("int64" | "float" | "double") => {}
        _ => return false,
    }
    assert_eq!(tool.get("format"), None, "{at}: OpenAPI-only `format: {format}` left in");
    true
}

fn assert_self_contained(schema: &Value, at: &str) {
    match schema {
        Value::Object(object) => {
            assert!(!object.contains_key("$ref"), "{at}: unresolved $ref");
            assert!(!object.contains_key("nullable"), "{at}: OpenAPI-only `nullable` left in");
            for (key, value) in object {
                assert_self_contained(value, &format!("{at}/{key}"));
            }
        }
        Value::Array(items) => items.iter().enumerate().for_each(|(index, item)| assert_self_contained(item, &format!("{at}/{index}"))),
        _ => {}
    }
}

/// The spec's text and the generator's output for the workspace's own inputs.
fn generate_for_workspace() -> (String, clerk_codegen::Generated) {
    let root = workspace_root();
    let spec_text = std::fs::read_to_string(root.join(SPEC_PATH)).unwrap();
    let manifest_text = std::fs::read_to_string(root.join(MANIFEST_PATH)).unwrap();
    let generated =
        generate(&Inputs { spec_file: SPEC_PATH, spec_text: &spec_text, manifest_file: MANIFEST_PATH, manifest_text: &manifest_text })
            .unwrap();
    (spec_text, generated)
}

#[test]
fn tool_schemas_keep_every_constraint_of_the_spec() {
    let (spec_text, generated) = generate_for_workspace();
    let spec: Value = serde_yaml::from_str(&spec_text).unwrap();
    let mut checked_arguments = 0;
    for plan in &generated.plans {
        let input = &plan.input_schema;
        assert_eq!(input["type"], "object", "{}: the input schema's root must be an object", plan.name);
        assert_eq!(plan.output_schema["type"], "object", "{}: the output schema's root must be an object", plan.name);
        assert_self_contained(input, &plan.name);
        assert_self_contained(&plan.output_schema, &format!("{} output", plan.name));
        let operation = &spec["paths"][&plan.path][&plan.method];
        let path_item = &spec["paths"][&plan.path];
        for argument in plan.arguments.iter().filter(|argument| !argument.hidden) {
            let source = match argument.location {
                ArgumentLocation::Path | ArgumentLocation::Query | ArgumentLocation::Header => {
                    let mut parameters = path_item["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .chain(operation["parameters"].as_array().into_iter().flatten());
                    let parameter =
                        parameters.rfind(|parameter| parameter["name"] == argument.wire_name.as_str()).expect("the parameter exists");
                    parameter["schema"].clone()
                }
                ArgumentLocation::BodyField => {
                    let body = resolve(&spec, &operation["requestBody"]["content"]["application/json"]["schema"]);
                    body["properties"][&argument.wire_name].clone()
                }
                ArgumentLocation::Body => operation["requestBody"]["content"]["application/json"]["schema"].clone(),
            };
            let tool_schema = &input["properties"][&argument.name];
            assert_kept(&spec, &source, tool_schema, &format!("{}.{}", plan.name, argument.name), Side::Input);
            let required_in_tool = input["required"].as_array().is_some_and(|required| required.contains(&json!(argument.name)));
            assert_eq!(required_in_tool, argument.required, "{}.{}: required flag", plan.name, argument.name);
            checked_arguments += 1;
        }
        let success = operation["responses"].as_object().unwrap().iter().find(|(status, _)| status.starts_with('2')).unwrap().1;
        let output = Side::Output { walked: true, optional: false };
        assert_kept(
            &spec,
            &success["content"]["application/json"]["schema"],
            &plan.output_schema,
            &format!("{} output", plan.name),
            output,
        );
        assert!(!plan.output_schema.to_string().contains("\"description\""), "{}: descriptions in the output schema", plan.name);
    }
    // The safety of sends adds its control arguments, which are not the spec's: checked apart.
    let mut control_arguments = 0;
    for plan in &generated.plans {
        let properties = plan.input_schema["properties"].as_object().unwrap();
        if let Some(key) = properties.get("idempotency_key") {
            assert_eq!((key["type"].as_str(), key["minLength"].as_u64(), key["maxLength"].as_u64()), (Some("string"), Some(1), Some(255)));
            control_arguments += 1;
        }
        if let Some(allow) = properties.get("allow_repeat") {
            assert_eq!((allow["type"].as_str(), allow["default"].as_bool()), (Some("boolean"), Some(false)));
            control_arguments += 1;
        }
    }
    assert_eq!(control_arguments, 5, "send_message and create_campaign take both, create_contacts_batch a key");
    let listed: usize = generated.surface.tools.values().map(|tool| tool.arguments.len()).sum();
    assert_eq!(checked_arguments + control_arguments, listed, "every listed argument is checked");
    assert!(listed > 30, "the manifest lost arguments: only {listed}");
}

#[test]
fn the_e164_pattern_reaches_every_phone_argument() {
    let (_, generated) = generate_for_workspace();
    let e164 = json!("^\\+[1-9][0-9]{1,14}$");
    let send = generated.plans.iter().find(|plan| plan.name == "send_message").unwrap();
    assert_eq!(send.input_schema["properties"]["sender"]["pattern"], e164);
    assert_eq!(send.input_schema["properties"]["recipients"]["items"]["pattern"], e164);
    let batch = generated.plans.iter().find(|plan| plan.name == "create_contacts_batch").unwrap();
    assert_eq!(batch.input_schema["properties"]["contacts"]["items"]["properties"]["phone"]["pattern"], e164);
    let messages = generated.plans.iter().find(|plan| plan.name == "get_messages").unwrap();
    assert_eq!(messages.input_schema["properties"]["limit"]["maximum"], json!(50));
}
