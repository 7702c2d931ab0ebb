//! The generator on a large messy spec: everything it can carry is generated, and each
//! operation it leaves out costs one warning line that points at it. (How long the run takes is
//! measured by `cargo bench -p clerk-codegen`, not asserted here.)

#[path = "support/large_spec.rs"]
mod large_spec;

use clerk_codegen::{Inputs, generate};

#[test]
fn a_large_messy_spec_generates_and_each_left_out_operation_is_one_warning_line_at_it() {
    let (spec, manifest, left_out) = large_spec::large_messy_spec(360);
    let inputs = Inputs { spec_file: "spec.yaml", spec_text: &spec, manifest_file: "tools.toml", manifest_text: &manifest };
    let generated = generate(&inputs).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(generated.warnings.len(), left_out, "one warning per operation left out");
    assert_eq!(generated.plans.len(), 30);
    let lines: Vec<&str> = spec.lines().collect();
    for warning in &generated.warnings {
        assert!(!warning.contains('\n'), "one line: {warning}");
        let (location, message) = warning.split_once(": warning: operation `").unwrap_or_else(|| panic!("shape: {warning}"));
        let line: usize = location.strip_prefix("spec.yaml:").and_then(|line| line.parse().ok()).unwrap_or_else(|| panic!("{warning}"));
        let id = message.split('`').next().unwrap();
        // The line is in the operation: the nearest operationId at or above it (or just below,
        // for the method's own line) is the operation's.
        let above = lines[..line].iter().rev().find(|text| text.trim().starts_with("operationId:"));
        let below = lines[line - 1..].iter().take(2).find(|text| text.trim().starts_with("operationId:"));
        let at_operation = below.or(above).is_some_and(|text| text.trim() == format!("operationId: {id}"));
        assert!(at_operation, "the line of {id} is at its operation: {warning}");
    }
    let left_out_ids: Vec<&str> = generated.warnings.iter().filter_map(|warning| warning.split('`').nth(1)).collect();
    for id in &left_out_ids {
        assert!(!generated.sdk.contains(&format!("pub fn {id}(")), "{id} is not in the SDK");
        assert!(generated.surface.operations[*id].starts_with("left out of the SDK: "), "{id} in the report");
    }
    assert_eq!(generated.surface.operations.values().filter(|place| *place == "SDK only").count(), 360 - left_out - 30);
}
