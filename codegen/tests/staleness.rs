//! Fails when generated/ is not what `cargo codegen` would write from openapi/.

use clerk_codegen::{REGENERATE_COMMAND, run_for_workspace, workspace_root};

#[test]
fn generated_files_match_the_inputs() {
    let root = workspace_root();
    let run = run_for_workspace(&root).unwrap_or_else(|error| panic!("the inputs in openapi/ are invalid:\n{error}"));
    let stale = run.stale_files(&root);
    if !stale.is_empty() {
        let diffs: Vec<String> = stale.iter().map(|file| file.diff.clone()).collect();
        let paths: Vec<&str> = stale.iter().map(|file| file.path).collect();
        panic!(
            "generated files are stale: {}\n\n{}\n{}\nfix: run `{REGENERATE_COMMAND}` and commit the result",
            paths.join(", "),
            diffs.join("\n"),
            run.report
        );
    }
}
