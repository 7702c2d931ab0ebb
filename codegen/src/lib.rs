//! clerk-codegen: reads the Clerk Chat OpenAPI spec and the tool manifest, and writes the
//! typed SDK (progenitor), the MCP tool routes (quote) and the tool surface report.
//!
//! Everything here is a pure function of the two input texts: no network, no clock, no
//! environment, so the output is the same byte for byte on every machine.

mod diagnostics;
mod emit;
mod manifest;
pub mod plan;
mod schema;
mod sdk;
mod spec;
pub mod surface;

use std::path::{Path, PathBuf};

pub use diagnostics::{Diagnostic, Diagnostics};
pub use surface::{Surface, SurfaceReport};

/// The workspace paths the generator reads and writes, relative to the workspace root.
pub const SPEC_PATH: &str = "openapi/clerk-chat.yaml";
pub const MANIFEST_PATH: &str = "openapi/tools.toml";
pub const SDK_PATH: &str = "generated/src/sdk.rs";
pub const TOOLS_PATH: &str = "generated/src/tools.rs";
pub const SURFACE_PATH: &str = "generated/tool-surface.json";

/// The command that regenerates; every message about stale files names it.
pub const REGENERATE_COMMAND: &str = "cargo codegen";

pub struct Inputs<'a> {
    pub spec_file: &'a str,
    pub spec_text: &'a str,
    pub manifest_file: &'a str,
    pub manifest_text: &'a str,
}

#[derive(Debug, Clone)]
pub struct Generated {
    pub sdk: String,
    pub tools: String,
    pub surface: Surface,
    /// The tools as planned: arguments, schemas and SDK calls, for tests and reports.
    pub plans: Vec<plan::ToolPlan>,
}

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
    Ok(Generated { sdk: sdk_code, tools: tools_code, surface: Surface::from_plans(&plans), plans })
}

/// A file the generator owns, with the content it should have.
#[derive(Debug, Clone)]
pub struct OwnedFile {
    pub path: &'static str,
    pub content: String,
}

/// The result of generating for a workspace: what each owned file should contain, and
/// how the tool surface differs from the one on disk.
#[derive(Debug, Clone)]
pub struct WorkspaceRun {
    pub files: Vec<OwnedFile>,
    pub report: SurfaceReport,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(#[from] Diagnostics),
}

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
    let files = vec![
        OwnedFile { path: SDK_PATH, content: generated.sdk },
        OwnedFile { path: TOOLS_PATH, content: generated.tools },
        OwnedFile { path: SURFACE_PATH, content: generated.surface.to_json() },
    ];
    Ok(WorkspaceRun { files, report })
}

/// A file whose content on disk differs from what the generator writes.
#[derive(Debug, Clone)]
pub struct StaleFile {
    pub path: &'static str,
    pub diff: String,
}

impl WorkspaceRun {
    pub fn stale_files(&self, root: &Path) -> Vec<StaleFile> {
        self.files
            .iter()
            .filter_map(|file| {
                let on_disk = std::fs::read_to_string(root.join(file.path)).unwrap_or_default();
                (on_disk != file.content).then(|| StaleFile { path: file.path, diff: unified_diff(file.path, &on_disk, &file.content) })
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
