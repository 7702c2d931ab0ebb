//! The Rust SDK's change report: a spec change that renames a response field is reported as
//! breaking for code that uses the SDK, one that adds an optional field is not.

use clerk_codegen::{Inputs, MANIFEST_PATH, SPEC_PATH, generate, sdk_surface, workspace_root};

fn sdk_surface_of(spec_text: &str) -> clerk_codegen::SdkSurface {
    let manifest_text = std::fs::read_to_string(workspace_root().join(MANIFEST_PATH)).unwrap();
    let inputs = Inputs { spec_file: SPEC_PATH, spec_text, manifest_file: MANIFEST_PATH, manifest_text: &manifest_text };
    generate(&inputs).unwrap().sdk_surface
}

#[test]
fn renaming_a_response_field_is_reported_as_breaking() {
    let spec_text = std::fs::read_to_string(workspace_root().join(SPEC_PATH)).unwrap();
    let before = sdk_surface_of(&spec_text);
    // The message's `segments` becomes `segmentCount`; the contact gains an optional `nickname`.
    assert_eq!(spec_text.matches("\n        segments:\n").count(), 1, "the test renames one field");
    let changed = spec_text.replace("\n        segments:\n", "\n        segmentCount:\n").replace(
        "\n        teamId:\n          type: string\n          nullable: true\n        createdByUserId:",
        "\n        teamId:\n          type: string\n          nullable: true\n        nickname:\n          type: string\n        createdByUserId:",
    );
    let after = sdk_surface_of(&changed);
    let report = sdk_surface::compare(&before, &after);
    assert!(report.has_breaking());
    insta::assert_snapshot!(report.to_string());
    assert!(!sdk_surface::compare(&before, &before).has_breaking());
    assert_eq!(sdk_surface::compare(&before, &before).to_string(), "Rust SDK surface: unchanged.\n");
}
