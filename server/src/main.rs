//! `clerk-mcp`: the Clerk Chat MCP server binary.

use clerk_mcp::config::{self, AuthMode, Command, ConfigError, LogFormat, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (command, options) = match config::read_args(std::env::args_os()) {
        Ok(read) => read,
        // clap prints its own message (or the help) and exits with its own status.
        Err(ConfigError::Arguments(error)) => error.exit(),
        Err(error) => return Err(anyhow::Error::new(error)),
    };
    match command {
        Command::Settings => {
            print!("{}", toml::to_string(&options)?);
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

/// Logs go to stderr, always: on stdio, stdout carries the protocol.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
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
    println!("  claude mcp add clerk-chat --transport http {url}");
    if settings.upstream.is_some() {
        println!("Upstream: {}", server.upstream_url);
    } else {
        println!("Upstream: the embedded sandbox at {} (nothing is really sent)", server.upstream_url);
        let numbers: Vec<String> = server.sandbox_inboxes.iter().map(|inbox| format!("{} ({})", inbox.phone, inbox.provider)).collect();
        println!("Sandbox numbers to send from: {}", numbers.join(", "));
    }
    for line in sign_in_lines(settings, &url) {
        println!("{line}");
    }
    println!("Data directory: {} (change it with --data-dir)", settings.data_dir.display());
    let stop = server.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        stop.cancel();
    });
    server.wait().await;
    Ok(())
}

/// The banner's lines about sign-in.
fn sign_in_lines(settings: &Settings, url: &str) -> Vec<String> {
    match &settings.auth {
        AuthMode::Builtin { vault_key, .. } => {
            let mut lines = vec!["Sign-in: built-in OAuth; each user connects in the browser (in Claude Code: /mcp)".to_owned()];
            if settings.api_key.is_some() {
                lines.push("CLERK_API_KEY is not used: with --auth builtin every call goes out with its user's own key".to_owned());
            }
            if vault_key.is_none() {
                lines.push(format!(
                    "Stored API keys are sealed with {} (set CLERK_MCP_VAULT_KEY to keep that key elsewhere)",
                    clerk_oauth::vault_key_path(&settings.oauth_directory()).display()
                ));
            }
            lines
        }
        AuthMode::External { issuer, .. } => vec![format!("Sign-in: tokens of {issuer}")],
        AuthMode::None => vec![format!("Sign-in: none (--auth none); anyone who can reach {url} acts as the operator")],
    }
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
