//! How long one generator run takes: on the Clerk Chat spec (the baseline) and on a generated
//! large messy spec of 360 operations (OpenAPI 3.1, half of them left out with warnings).
//! `cargo bench -p clerk-codegen` prints the median of 5 runs each and their ratio.

#[path = "../tests/support/large_spec.rs"]
mod large_spec;

use std::time::{Duration, Instant};

use clerk_codegen::{Inputs, generate};

fn median_of_runs(inputs: &Inputs) -> Duration {
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let generated = generate(inputs).unwrap_or_else(|error| panic!("{error}"));
            std::hint::black_box(generated);
            started.elapsed()
        })
        .collect();
    times.sort();
    times[2]
}

fn main() {
    let root = clerk_codegen::workspace_root();
    let spec = std::fs::read_to_string(root.join(clerk_codegen::SPEC_PATH)).expect("the Clerk Chat spec is readable");
    let manifest = std::fs::read_to_string(root.join(clerk_codegen::MANIFEST_PATH)).expect("the manifest is readable");
    let baseline =
        median_of_runs(&Inputs { spec_file: "clerk-chat.yaml", spec_text: &spec, manifest_file: "tools.toml", manifest_text: &manifest });
    let (large, large_manifest, left_out) = large_spec::large_messy_spec(360);
    let inputs = Inputs { spec_file: "large.yaml", spec_text: &large, manifest_file: "tools.toml", manifest_text: &large_manifest };
    let measured = median_of_runs(&inputs);
    println!("generator run, median of 5");
    println!("  Clerk Chat spec (10 operations, 10 tools):           {:>8.1} ms", baseline.as_secs_f64() * 1000.0);
    println!("  large messy spec (360 operations, 30 tools, {left_out} left out): {:>8.1} ms", measured.as_secs_f64() * 1000.0);
    println!("  ratio: {:.1}x the baseline", measured.as_secs_f64() / baseline.as_secs_f64());
}
