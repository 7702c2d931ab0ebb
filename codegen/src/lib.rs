//! clerk-codegen: reads the Clerk Chat OpenAPI spec and the tool manifest, and writes the
//! typed SDK (progenitor), the MCP tool routes (quote) and the tool surface report.
//!
//! Everything here is a pure function of the two input texts: no network, no clock, no
//! environment, so the output is the same byte for byte on every machine.

mod diagnostics;
mod emit;
mod manifest;
mod openapi31;
mod operation;
pub mod plan;
mod schema;
mod sdk;
pub mod sdk_surface;
mod security;
mod spec;
pub mod surface;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

pub use diagnostics::{Diagnostic, Diagnostics};
pub use sdk_surface::{SdkSurface, SdkSurfaceReport};
pub use surface::{Surface, SurfaceReport};

// The workspace paths the generator reads and writes, relative to the workspace root. They
// are public so that tests read the same inputs the generator does.

/// The Clerk Chat OpenAPI spec: the operations, parameters and schemas the SDK and tools come from.
pub const SPEC_PATH: &str = "openapi/clerk-chat.yaml";
/// The tool manifest: which operations become MCP tools, and how their arguments are shown.
pub const MANIFEST_PATH: &str = "openapi/tools.toml";
/// Where the typed SDK that progenitor writes from the spec goes.
pub const SDK_PATH: &str = "generated/src/sdk.rs";
/// Where the MCP tool descriptions and routes go.
pub const TOOLS_PATH: &str = "generated/src/tools.rs";
/// Where the tool surface goes, which the next run compares with to report what clients will see change.
pub const SURFACE_PATH: &str = "generated/tool-surface.json";

/// Where the Rust SDK's surface goes, which the next run compares with to report what code
/// that uses the SDK will see change.
pub const SDK_SURFACE_PATH: &str = "generated/sdk-surface.json";

/// The command that regenerates; every message about stale files names it.
pub const REGENERATE_COMMAND: &str = "cargo codegen";

/// The two input texts the generator is a function of, with the file names its diagnostics
/// point at. Texts rather than paths, so that tests can feed fixtures and edited copies.
pub struct Inputs<'a> {
    /// The spec's name as diagnostics and the generated headers show it.
    pub spec_file: &'a str,
    /// The OpenAPI 3.0 spec, as YAML.
    pub spec_text: &'a str,
    /// The manifest's name as diagnostics and the generated headers show it.
    pub manifest_file: &'a str,
    /// The tool manifest, as TOML.
    pub manifest_text: &'a str,
}

/// Everything one run generates, held in memory so that callers decide what to write or compare.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The typed SDK's source, with the generated-file header.
    pub sdk: String,
    /// The MCP tools' source (descriptions and routes), with the generated-file header.
    pub tools: String,
    /// The tool surface that MCP clients see, for the change report and `tool-surface.json`.
    pub surface: Surface,
    /// The SDK's public surface, for the change report and `sdk-surface.json`.
    pub sdk_surface: SdkSurface,
    /// The tools as planned: arguments, schemas and SDK calls, for tests and reports.
    pub plans: Vec<plan::ToolPlan>,
    /// One line per operation left out of the SDK (the manifest does not name it, and it
    /// cannot be generated), in the `file:line: warning: ...` shape of compilers.
    pub warnings: Vec<String>,
}

/// Generates the SDK, the tools and the tool surface from the inputs, or reports every problem
/// found in them. Pure: the same inputs give the same output, byte for byte.
pub fn generate(inputs: &Inputs) -> Result<Generated, Diagnostics> {
    let spec = spec::Spec::load(inputs.spec_file, inputs.spec_text);
    let manifest = manifest::Manifest::load(inputs.manifest_file, inputs.manifest_text);
    let (spec, manifest) = match (spec, manifest) {
        (Ok(spec), Ok(manifest)) => (spec, manifest),
        (spec, manifest) => {
            let mut problems = Vec::new();
            problems.extend(spec.err().into_iter().flat_map(|found| found.0));
            problems.extend(manifest.err().into_iter().flat_map(|found| found.0));
            return Err(Diagnostics(problems));
        }
    };
    let sdk = sdk::generate(&spec)?;
    let plans = plan::plan_tools(&spec, &manifest, &sdk)?;
    let header = emit::header(&[inputs.spec_file, inputs.manifest_file]);
    let sdk_code = format!("{header}\n{}", sdk.code);
    let tools_code = format!("{header}\n{}", emit::tools_file(&plans)?);
    let warnings = spec.left_out.iter().map(spec::LeftOut::warning).collect();
    let surface = Surface::new(&plans, &spec);
    Ok(Generated { sdk: sdk_code, tools: tools_code, surface, sdk_surface: sdk.surface, plans, warnings })
}

/// A file the generator owns, with the content it should have.
#[derive(Debug, Clone)]
pub(crate) struct OwnedFile {
    pub(crate) path: &'static str,
    pub(crate) content: String,
}

/// The result of generating for a workspace: what each owned file should contain, and
/// how the tool surface differs from the one on disk.
#[derive(Debug, Clone)]
pub struct WorkspaceRun {
    pub(crate) files: Vec<OwnedFile>,
    /// How the tool surface changed since the surface file on disk was written, for the
    /// maintainer to review before committing.
    pub report: SurfaceReport,
    /// How the SDK's public surface changed since its surface file was written.
    pub sdk_report: SdkSurfaceReport,
    /// The operations left out of the SDK, one warning line each.
    pub warnings: Vec<String>,
}

/// Why a run over the workspace could not finish; `cargo codegen` prints it and exits 1.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// An input file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file, as joined to the workspace root, so the message names the one looked for.
        path: PathBuf,
        /// What the operating system reported.
        source: std::io::Error,
    },
    /// A generated file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file, as joined to the workspace root.
        path: PathBuf,
        /// What the operating system reported.
        source: std::io::Error,
    },
    /// The inputs are invalid; nothing was written.
    #[error("{0}")]
    Invalid(#[from] Diagnostics),
}

/// Reads the inputs under `root`, generates, and compares the new tool surface with the one
/// on disk. Writes nothing: the caller writes or checks with the returned [`WorkspaceRun`].
pub fn run_for_workspace(root: &Path) -> Result<WorkspaceRun, WorkspaceError> {
    let read = |relative: &str| {
        let path = root.join(relative);
        std::fs::read_to_string(&path).map_err(|source| WorkspaceError::Read { path, source })
    };
    let spec_text = read(SPEC_PATH)?;
    let manifest_text = read(MANIFEST_PATH)?;
    let generated =
        generate(&Inputs { spec_file: SPEC_PATH, spec_text: &spec_text, manifest_file: MANIFEST_PATH, manifest_text: &manifest_text })?;
    // A missing or unreadable old surface counts as empty: every tool is then "added".
    let old_surface: Surface =
        std::fs::read_to_string(root.join(SURFACE_PATH)).ok().and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default();
    let report = surface::compare(&old_surface, &generated.surface);
    let old_sdk_surface: SdkSurface =
        std::fs::read_to_string(root.join(SDK_SURFACE_PATH)).ok().and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default();
    let sdk_report = sdk_surface::compare(&old_sdk_surface, &generated.sdk_surface);
    let warnings = generated.warnings;
    let files = vec![
        OwnedFile { path: SDK_PATH, content: generated.sdk },
        OwnedFile { path: TOOLS_PATH, content: generated.tools },
        OwnedFile { path: SURFACE_PATH, content: generated.surface.to_json() },
        OwnedFile { path: SDK_SURFACE_PATH, content: generated.sdk_surface.to_json() },
    ];
    Ok(WorkspaceRun { files, report, sdk_report, warnings })
}

/// A file whose content on disk differs from what the generator writes.
#[derive(Debug, Clone)]
pub struct StaleFile {
    /// The file, relative to the workspace root.
    pub path: &'static str,
    /// What differs, as a unified diff cut to a readable length.
    pub diff: String,
}

impl WorkspaceRun {
    /// The owned files whose content on disk is not what the generator writes; a missing
    /// file counts as empty. Line endings do not count: a `\r\n` checkout of an up-to-date
    /// file is up to date.
    pub fn stale_files(&self, root: &Path) -> Vec<StaleFile> {
        self.files
            .iter()
            .filter_map(|file| {
                let on_disk = std::fs::read_to_string(root.join(file.path)).unwrap_or_default();
                is_stale(&on_disk, &file.content)
                    .then(|| StaleFile { path: file.path, diff: unified_diff(file.path, &with_unix_line_endings(&on_disk), &file.content) })
            })
            .collect()
    }

    /// Writes the files that changed; returns their paths.
    pub fn write(&self, root: &Path) -> Result<Vec<&'static str>, WorkspaceError> {
        let mut written = Vec::new();
        for stale in self.stale_files(root) {
            let file = self.files.iter().find(|file| file.path == stale.path).expect("stale files come from self.files");
            let path = root.join(file.path);
            std::fs::write(&path, &file.content).map_err(|source| WorkspaceError::Write { path, source })?;
            written.push(file.path);
        }
        Ok(written)
    }
}

/// Whether a generated file on disk differs from what the generator writes. The generator
/// writes `\n` line endings; a Windows checkout with `core.autocrlf` turns them into `\r\n`,
/// and that file is still up to date, so the text on disk is compared with its line endings
/// made `\n`. Were it reported stale, `cargo codegen --check` would fail on every such
/// checkout, and `cargo codegen` would rewrite every file for nothing.
fn is_stale(on_disk: &str, generated: &str) -> bool {
    with_unix_line_endings(on_disk) != generated
}

/// The text with every `\r\n` made `\n`; borrowed when there is none, as on Unix checkouts.
fn with_unix_line_endings(text: &str) -> Cow<'_, str> {
    if text.contains("\r\n") { Cow::Owned(text.replace("\r\n", "\n")) } else { Cow::Borrowed(text) }
}

/// A unified diff, cut to a readable length: the point is to show what is stale, and the fix
/// is to regenerate, not to apply the diff by hand.
fn unified_diff(path: &str, old: &str, new: &str) -> String {
    const MAX_LINES: usize = 80;
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff.unified_diff().context_radius(2).header(&format!("{path} (on disk)"), &format!("{path} (generated)")).to_string();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_LINES {
        text
    } else {
        format!("{}\n... {} more diff lines", lines[..MAX_LINES].join("\n"), lines.len() - MAX_LINES)
    }
}

/// The workspace root, for the binary and the staleness test.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("codegen/ sits in the workspace root").to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENERATED: &str = "// @generated\nfn main() {\n    println!(\"hi\");\n}\n";

    #[test]
    fn a_crlf_copy_of_the_generated_text_is_not_stale() {
        let on_disk = GENERATED.replace('\n', "\r\n");
        assert!(!is_stale(&on_disk, GENERATED));
    }

    #[test]
    fn the_generated_text_itself_is_not_stale() {
        assert!(!is_stale(GENERATED, GENERATED));
    }

    #[test]
    fn a_changed_crlf_copy_is_stale() {
        let on_disk = GENERATED.replace("hi", "hello").replace('\n', "\r\n");
        assert!(is_stale(&on_disk, GENERATED));
    }

    #[test]
    fn a_lone_carriage_return_is_content_and_stays_stale() {
        // Only the `\r\n` pair is a line ending that git may have written; a `\r` alone is a change.
        let on_disk = GENERATED.replace("hi", "h\ri");
        assert!(is_stale(&on_disk, GENERATED));
    }

    #[test]
    fn stale_files_ignores_crlf_checkouts_and_diffs_real_changes_without_carriage_returns() {
        let root = std::env::temp_dir().join(format!("clerk-codegen-stale-check-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("the temporary directory is writable");
        std::fs::write(root.join("crlf.rs"), GENERATED.replace('\n', "\r\n")).expect("the temporary directory is writable");
        std::fs::write(root.join("changed.rs"), GENERATED.replace("hi", "hello").replace('\n', "\r\n"))
            .expect("the temporary directory is writable");
        let run = WorkspaceRun {
            files: vec![
                OwnedFile { path: "crlf.rs", content: GENERATED.to_owned() },
                OwnedFile { path: "changed.rs", content: GENERATED.to_owned() },
            ],
            report: SurfaceReport::default(),
            sdk_report: SdkSurfaceReport::default(),
            warnings: Vec::new(),
        };
        let stale = run.stale_files(&root);
        std::fs::remove_dir_all(&root).expect("the temporary directory can be removed");
        let paths: Vec<&str> = stale.iter().map(|file| file.path).collect();
        assert_eq!(paths, ["changed.rs"]);
        assert!(!stale[0].diff.contains('\r'), "the diff shows the change, not the line endings:\n{}", stale[0].diff);
    }
}
