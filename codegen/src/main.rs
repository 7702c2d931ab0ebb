//! `cargo codegen`: regenerates generated/ from openapi/; `cargo codegen --check` verifies it.

use std::process::ExitCode;

use clap::Parser;
use clerk_codegen::{REGENERATE_COMMAND, run_for_workspace, workspace_root};

/// Regenerate the Clerk Chat SDK and MCP tools from openapi/clerk-chat.yaml and openapi/tools.toml.
#[derive(Debug, Parser)]
#[command(name = "cargo codegen", version)]
struct Arguments {
    /// Write nothing; exit 1 with a diff when generated/ is not what the inputs produce.
    #[arg(long)]
    check: bool,
    /// The workspace root (defaults to the one this binary was built in).
    #[arg(long, value_name = "DIR")]
    root: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let root = arguments.root.unwrap_or_else(workspace_root);
    let run = match run_for_workspace(&root) {
        Ok(run) => run,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    for warning in &run.warnings {
        eprintln!("{warning}");
    }
    if arguments.check {
        let stale = run.stale_files(&root);
        if stale.is_empty() {
            println!("generated/ is up to date.");
            return ExitCode::SUCCESS;
        }
        for file in &stale {
            eprintln!("{}", file.diff);
        }
        eprint!("{}{}", run.report, run.sdk_report);
        let paths: Vec<&str> = stale.iter().map(|file| file.path).collect();
        eprintln!("error: generated files are stale: {}\n  help: run `{REGENERATE_COMMAND}` and commit the result", paths.join(", "));
        return ExitCode::FAILURE;
    }
    match run.write(&root) {
        Ok(written) if written.is_empty() => println!("generated/ is up to date; nothing written."),
        Ok(written) => {
            for path in written {
                println!("wrote {path}");
            }
            print!("{}{}", run.report, run.sdk_report);
        }
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
