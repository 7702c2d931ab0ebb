//! `clerk-mcp`: the Clerk Chat MCP server binary.

use std::process::ExitCode;

use clerk_mcp::config::{self, Command, ConfigError, LogFormat, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        // Every error of this server says its cause in its own sentence: print that sentence
        // alone, without anyhow's "Caused by" list repeating it.
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let (command, options) = match config::read_args(std::env::args_os()) {
        Ok(read) => read,
        // clap prints its own message (or the help) and exits with its own status.
        Err(ConfigError::Arguments(error)) => error.exit(),
        Err(error) => return Err(anyhow::Error::new(error)),
    };
    match command {
        Command::Settings => {
            let mut shown = options;
            // A PostgreSQL URL may hold a password: the settings are printed without it.
            if let Some(url @ clerk_store::DatabaseUrl::Postgres(_)) =
                shown.database_url.as_deref().and_then(|url| clerk_store::DatabaseUrl::parse(url).ok())
            {
                println!("# database_url is shown without its password");
                shown.database_url = Some(url.to_string());
            }
            print!("{}", toml::to_string(&shown)?);
            Ok(())
        }
        Command::Connect(connect) => {
            let settings = Settings::resolve(options)?;
            let transport = match (&connect.http, connect.stdio, connect.client) {
                (Some(url), _, _) if !url.is_empty() => clerk_mcp::connect::Transport::Http(url.clone()),
                (None, true, _) | (None, false, config::ConnectClient::ClaudeDesktop) => clerk_mcp::connect::Transport::Stdio,
                _ => clerk_mcp::connect::Transport::Http(clerk_mcp::connect::mcp_url(&settings)),
            };
            let binary = std::env::current_exe()?;
            print!("{}", clerk_mcp::connect::snippet(connect.client, &transport, &settings, &binary));
            Ok(())
        }
        Command::Stdio => Ok(clerk_mcp::run_stdio(&ready(options)?).await?),
        Command::Serve => serve(&ready(options)?).await,
    }
}

/// The settings checked, and logging on.
fn ready(options: config::Options) -> anyhow::Result<Settings> {
    let settings = Settings::resolve(options)?;
    init_logging(settings.log_format);
    Ok(settings)
}

/// Logs go to stderr, always: on stdio, stdout carries the protocol. Colours only on a
/// terminal (a client's log file or a collector gets plain text), and rmcp's per-session lines
/// (whole `peer_info` structs) only when RUST_LOG asks for them.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,rmcp=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let server = clerk_mcp::start_http(settings).await?;
    let url = server.mcp_url();
    println!("Clerk Chat MCP server on {url}");
    println!("Add it to Claude Code with:");
    println!("  claude mcp add {} --transport http {url}", clerk_mcp::CONFIGURATION_NAME);
    let auth = settings.auth.banner_lines(&url, settings.api_key.is_some(), &settings.oauth_directory());
    let upstream = clerk_mcp::upstream_banner(settings, &server.upstream_url, &server.sandbox_inboxes);
    for line in upstream.into_iter().chain(auth).chain(clerk_mcp::data_banner(settings)) {
        println!("{line}");
    }
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        stop.cancel();
    });
    server.wait().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM can be watched");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
