//! Snapshots of the generator's output on small fixtures, and of every manifest error it reports.
//!
//! The accepted `ok_*` snapshots are compiled by `codegen/tests/fixture-crate`, so a
//! snapshot that does not build fails the workspace build.

use clerk_codegen::{Inputs, generate};

const COVERAGE_SPEC: &str = include_str!("fixtures/coverage/spec.yaml");
const COVERAGE_MANIFEST: &str = include_str!("fixtures/coverage/tools.toml");

fn run(spec: &str, manifest: &str) -> Result<clerk_codegen::Generated, clerk_codegen::Diagnostics> {
    generate(&Inputs { spec_file: "spec.yaml", spec_text: spec, manifest_file: "tools.toml", manifest_text: manifest })
}

fn errors(spec: &str, manifest: &str) -> String {
    match run(spec, manifest) {
        Ok(_) => panic!("expected the generator to refuse these inputs"),
        Err(diagnostics) => diagnostics.to_string(),
    }
}

#[test]
fn ok_coverage() {
    let generated = run(COVERAGE_SPEC, COVERAGE_MANIFEST).unwrap_or_else(|error| panic!("{error}"));
    insta::assert_snapshot!("ok_coverage__tools", generated.tools);
    insta::assert_snapshot!("ok_coverage__sdk", generated.sdk);
    insta::assert_snapshot!("ok_coverage__surface", generated.surface.to_json());
}

#[test]
fn output_is_deterministic() {
    let first = run(COVERAGE_SPEC, COVERAGE_MANIFEST).unwrap();
    for _ in 0..3 {
        let again = run(COVERAGE_SPEC, COVERAGE_MANIFEST).unwrap();
        assert_eq!(first.tools, again.tools);
        assert_eq!(first.sdk, again.sdk);
    }
}

const GOOD_TOOL: &str = r#"
[[tool]]
name = "get_thing"
operation = "getThing"
title = "Get a thing"
scope = "things:read"
description = "Read one thing."
annotations = { read_only = true, destructive = false, idempotent = true, open_world = false }
"#;

#[test]
fn error_unknown_operation_suggests_the_closest() {
    let manifest = GOOD_TOOL.replace("operation = \"getThing\"", "operation = \"getThings\"");
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_unknown_argument_suggests_the_closest() {
    let manifest = format!("{GOOD_TOOL}arguments.thing_id = {{ rename = \"id\" }}\n");
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_safety_names_an_unknown_argument_and_lacks_the_roles_of_its_lookup() {
    let manifest = format!(
        "{GOOD_TOOL}arguments.thingId = {{ rename = \"idempotency_key\" }}\nsafety = {{ idempotency = true, repeat_fingerprint = [\"thing_idd\"], reconcile = \"sent_messages\" }}\n"
    );
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_unknown_manifest_field_suggests_the_closest() {
    let manifest = GOOD_TOOL.replace("description =", "descripton =");
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_missing_annotation() {
    let manifest = GOOD_TOOL.replace(", open_world = false", "");
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_duplicate_tool_name() {
    let manifest = format!("{GOOD_TOOL}{GOOD_TOOL}");
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_tool_name_outside_the_allowed_characters() {
    let manifest = GOOD_TOOL.replace("name = \"get_thing\"", "name = \"get thing.v2\"");
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_tool_name_too_long() {
    let manifest = GOOD_TOOL.replace("name = \"get_thing\"", &format!("name = \"{}\"", "t".repeat(65)));
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_argument_names_collide_after_flattening() {
    let manifest = COVERAGE_MANIFEST
        .replace("arguments.\"body:id\" = { rename = \"new_id\" }\n", "arguments.\"body:id\" = { rename = \"thing_id\" }\n");
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_ambiguous_argument_key() {
    let manifest = COVERAGE_MANIFEST.replace("arguments.\"path:id\"", "arguments.id");
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_fixed_value_without_hidden() {
    let manifest = COVERAGE_MANIFEST.replace("{ hidden = true, fixed = \"mcp\" }", "{ fixed = \"mcp\" }");
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_hidden_required_argument_without_fixed_value() {
    let manifest = COVERAGE_MANIFEST.replace("{ hidden = true, fixed = \"mcp\" }", "{ hidden = true }");
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_manifest_is_not_toml() {
    let manifest = GOOD_TOOL.replace("title = \"Get a thing\"", "title = Get a thing");
    insta::assert_snapshot!(errors(COVERAGE_SPEC, &manifest));
}

#[test]
fn error_spec_is_neither_openapi_3_0_nor_3_1() {
    let spec = COVERAGE_SPEC.replace("openapi: 3.0.3", "openapi: 3.2.0");
    insta::assert_snapshot!(errors(&spec, GOOD_TOOL));
}

#[test]
fn error_spec_uses_an_unsupported_construct() {
    let spec =
        COVERAGE_SPEC.replace("    View:\n      type: string\n", "    View:\n      type: string\n      not:\n        enum: [none]\n");
    insta::assert_snapshot!(errors(&spec, GOOD_TOOL));
}

#[test]
fn error_spec_has_a_cookie_parameter_in_an_operation_a_tool_needs() {
    let spec = COVERAGE_SPEC
        .replace("          in: query\n          description: How much", "          in: cookie\n          description: How much");
    insta::assert_snapshot!(errors(&spec, GOOD_TOOL));
}

#[test]
fn error_spec_has_a_type_openapi_does_not_know() {
    // progenitor panics on it without a place; the generator names the line and the fix.
    let spec = COVERAGE_SPEC.replace("        - type: integer\n          format: int32", "        - type: int\n          format: int32");
    insta::assert_snapshot!(errors(&spec, GOOD_TOOL));
}

#[test]
fn an_operation_no_tool_needs_is_left_out_of_the_sdk_with_one_warning_line() {
    // The same cookie parameter, in an operation the manifest does not name.
    let spec = COVERAGE_SPEC.replace(
        "operationId: replaceThing\n      parameters:\n",
        "operationId: replaceThing\n      parameters:\n        - { name: session, in: cookie, schema: { type: string } }\n",
    );
    let generated = run(&spec, GOOD_TOOL).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(generated.warnings.len(), 1, "{:?}", generated.warnings);
    assert!(
        generated.warnings[0]
            .contains("warning: operation `replaceThing` (PUT /things/{id}) is left out of the SDK: parameter `session` is a cookie"),
        "{}",
        generated.warnings[0]
    );
    assert!(!generated.sdk.contains("fn replace_thing"), "left out of the SDK");
    assert!(generated.sdk.contains("fn get_thing"), "the rest is generated");
}

#[test]
fn error_spec_has_duplicate_operation_ids() {
    let spec = COVERAGE_SPEC.replace("operationId: replaceThing", "operationId: getThing");
    insta::assert_snapshot!(errors(&spec, GOOD_TOOL));
}

#[test]
fn error_spec_has_an_array_without_items() {
    let spec =
        COVERAGE_SPEC.replace("            maxItems: 5\n            items:\n              type: string\n", "            maxItems: 5\n");
    insta::assert_snapshot!(errors(&spec, GOOD_TOOL));
}

#[test]
fn every_error_is_reported_in_one_run() {
    let manifest = format!(
        "{}{}",
        GOOD_TOOL.replace("operation = \"getThing\"", "operation = \"nope\""),
        GOOD_TOOL.replace("name = \"get_thing\"", "name = \"bad name\"")
    );
    let report = errors(COVERAGE_SPEC, &manifest);
    assert!(report.contains("unknown operation `nope`"), "{report}");
    assert!(report.contains("tool name `bad name`"), "{report}");
    assert!(report.contains("2 error(s)"), "{report}");
}

#[test]
fn surface_report_marks_breaking_changes() {
    let before = run(COVERAGE_SPEC, COVERAGE_MANIFEST).unwrap().surface;
    let spec = COVERAGE_SPEC
        .replace("enum: [summary, full]", "enum: [summary, brief]")
        .replace("      required: [id, name, source]", "      required: [id, name, source, note]");
    let manifest = COVERAGE_MANIFEST
        .replace("arguments.thingId = { rename = \"thing_id\" }", "arguments.thingId = { rename = \"id\" }")
        .replace("scope = \"things:read\"", "scope = \"things:read-all\"")
        .replace("arguments.color = { default = \"blue\" }\n", "")
        + "\n[[tool]]\nname = \"get_thing_again\"\noperation = \"getThing\"\ntitle = \"t\"\nscope = \"s\"\ndescription = \"d\"\nannotations = { read_only = true, destructive = false, idempotent = true, open_world = true }\n";
    let after = run(&spec, &manifest).unwrap_or_else(|error| panic!("{error}")).surface;
    let report = clerk_codegen::surface::compare(&before, &after);
    assert!(report.has_breaking());
    insta::assert_snapshot!(report.to_string());
    assert!(!clerk_codegen::surface::compare(&after, &after).has_breaking());
    assert_eq!(clerk_codegen::surface::compare(&after, &after).to_string(), "MCP tool surface: unchanged.\n");
}

const REAL_WORLD_SPEC: &str = include_str!("fixtures/real-world/spec.yaml");
const REAL_WORLD_MANIFEST: &str = include_str!("fixtures/real-world/tools.toml");

#[test]
fn ok_real_world() {
    let generated = run(REAL_WORLD_SPEC, REAL_WORLD_MANIFEST).unwrap_or_else(|error| panic!("{error}"));
    insta::assert_snapshot!("ok_real_world__warnings", generated.warnings.join("\n"));
    insta::assert_snapshot!("ok_real_world__tools", generated.tools);
    insta::assert_snapshot!("ok_real_world__sdk", generated.sdk);
    insta::assert_snapshot!("ok_real_world__surface", generated.surface.to_json());
}
