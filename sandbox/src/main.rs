//! `clerk-sandbox`: runs the local Clerk Chat API on a loopback port with a database file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use clerk_sandbox::{Sandbox, SandboxConfig};

/// A local Clerk Chat API on SQLite that sends no real SMS.
#[derive(Debug, Parser)]
#[command(name = "clerk-sandbox", version)]
struct Arguments {
    /// The SQLite database; created and seeded with a demo team on first start.
    #[arg(long, env = "CLERK_SANDBOX_DATABASE", default_value = "clerk-sandbox.db")]
    database: PathBuf,
    /// The address to listen on.
    #[arg(long, env = "CLERK_SANDBOX_BIND", default_value = "127.0.0.1:8788")]
    bind: SocketAddr,
    /// Milliseconds a message stays `sending`, then `sent` (times the provider's factor).
    #[arg(long, env = "CLERK_SANDBOX_DELIVERY_DELAY_MS", default_value_t = clerk_sandbox::DEFAULT_DELIVERY_DELAY_MS)]
    delivery_delay_ms: u64,
    /// Requests a second per team before answering 429; 0 turns the limit off.
    #[arg(long, env = "CLERK_SANDBOX_RATE_LIMIT", default_value_t = clerk_sandbox::DEFAULT_RATE_LIMIT_PER_SECOND)]
    rate_limit: u32,
    /// Also make a new team with this name and print its API key.
    #[arg(long, value_name = "NAME")]
    new_team: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let arguments = Arguments::parse();
    let config = SandboxConfig {
        database: arguments.database.clone(),
        bind: arguments.bind,
        delivery_delay: Duration::from_millis(arguments.delivery_delay_ms),
        rate_limit_per_second: arguments.rate_limit,
    };
    let sandbox = Sandbox::start_with(config).await.context("cannot start the sandbox")?;
    println!("Clerk Chat sandbox listening on {}", sandbox.base_url());
    let fresh = if sandbox.seeded_team().is_some() { " (new)" } else { "" };
    println!("Database: {}{fresh}", arguments.database.display());
    if let Some(seed) = sandbox.seeded_team() {
        print_team("Seeded the demo team", seed);
    }
    if let Some(name) = &arguments.new_team {
        print_team("Made a new team", &sandbox.create_team(name).await?);
    }
    tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
    sandbox.shutdown().await;
    Ok(())
}

fn print_team(what: &str, seed: &clerk_sandbox::TeamSeed) {
    println!("{what} {:?} ({}):", seed.name, seed.team_id);
    println!("  API key (shown once, keep it): {}", seed.api_key);
    for inbox in &seed.inboxes {
        println!("  inbox {} ({}) {}", inbox.phone, inbox.provider, inbox.id);
    }
    println!("  contact list {:?}; {} has opted out", seed.list_name, seed.opted_out_phone);
}
