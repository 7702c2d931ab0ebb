//! Turns the accepted insta snapshots of generated code back into Rust files to compile.

use std::path::Path;

fn main() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (snapshot, output) in [
        ("snapshots__ok_coverage__sdk.snap", "coverage_sdk.rs"),
        ("snapshots__ok_coverage__tools.snap", "coverage_tools.rs"),
        ("snapshots__ok_real_world__sdk.snap", "real_world_sdk.rs"),
        ("snapshots__ok_real_world__tools.snap", "real_world_tools.rs"),
    ] {
        let path = snapshots.join(snapshot);
        println!("cargo::rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read the snapshot {}: {error}", path.display()));
        // An insta snapshot is a `---`-fenced header followed by the content.
        let content = text.splitn(3, "---\n").nth(2).unwrap_or_else(|| panic!("{} has no insta header", path.display()));
        std::fs::write(Path::new(&out_dir).join(output), content).expect("OUT_DIR is writable");
    }
}
