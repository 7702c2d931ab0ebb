//! What the shared PostgreSQL store costs against the embedded SQLite default: two replicas
//! of the same kind (`--auth builtin`, one signed-in user, the same upstream sandbox), one on
//! each store, measured in the same run; and how many database transactions a tools/call
//! makes once its token and session are known, counted by PostgreSQL itself.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use super::browser::Browser;
use super::{Operation, Server, answers_ok, measure_mcp, ms, open_session, run_mcp, seed_messages, start_server};

const VAULT_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const CALLS_COUNTED: usize = 200;

/// A `--auth builtin` replica on `upstream`, its state where `database_args` say; killed when
/// dropped.
struct Replica {
    child: std::process::Child,
    address: std::net::SocketAddr,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_replica(directory: &std::path::Path, upstream: &str, database_args: &[&str]) -> Replica {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_clerk-mcp"))
        .args(["--auth", "builtin", "--listen", &address.to_string(), "--upstream", upstream, "--data-dir"])
        .arg(directory)
        .args(database_args)
        .env("CLERK_MCP_VAULT_KEY", VAULT_KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server binary starts");
    let started = std::time::Instant::now();
    while !answers_ok(address, "/readyz") {
        assert!(started.elapsed() < Duration::from_secs(30), "the replica on {address} is not ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    Replica { child, address }
}

/// Signs in with the team's API key on the consent page, as a user of a real upstream does.
async fn sign_in_with_key(address: std::net::SocketAddr, api_key: &str) -> Arc<str> {
    let (_, tokens) = Browser::new(format!("http://{address}")).sign_in(&[("decision", "allow"), ("api_key", api_key)]).await;
    tokens["access_token"].as_str().unwrap().into()
}

/// Transactions PostgreSQL has committed in the database, once its statistics are flushed: an
/// idle connection reports its counts within 10 s (PGSTAT_IDLE_INTERVAL), so this waits 11.
async fn committed_transactions(options: &sqlx::postgres::PgConnectOptions) -> i64 {
    use sqlx::Connection;
    tokio::time::sleep(Duration::from_secs(11)).await;
    let mut connection = sqlx::PgConnection::connect_with(options).await.unwrap();
    sqlx::query_scalar("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        .fetch_one(&mut connection)
        .await
        .unwrap()
}

pub(super) fn postgres_against_sqlite(runtime: &tokio::runtime::Runtime) {
    let directory = tempfile::tempdir().unwrap();
    let (upstream, _): (Server, _) = start_server(&directory.path().join("upstream"), "none", &[]);
    let clerk_store::DatabaseUrl::Postgres(database) = runtime.block_on(clerk_store::testing::fresh_postgres_database()) else {
        unreachable!("PostgreSQL")
    };
    let signing_key = directory.path().join("signing-key.pem");
    clerk_oauth::write_new_signing_key(&signing_key).unwrap();
    let sqlite = start_replica(&directory.path().join("sqlite"), &upstream.sandbox_url, &[]);
    let postgres = start_replica(
        &directory.path().join("postgres"),
        &upstream.sandbox_url,
        &["--database-url", database.connection_string(), "--signing-key-file", signing_key.to_str().unwrap()],
    );
    let api_key = upstream.api_key.trim().to_owned();
    let info = |replica: &Replica| {
        let bearer = runtime.block_on(sign_in_with_key(replica.address, &api_key));
        super::peers::server_info_at(&upstream, replica.address, Some(bearer), super::peers::Naming::Ours)
    };
    let (sqlite_info, postgres_info) = (info(&sqlite), info(&postgres));
    runtime.block_on(seed_messages(&sqlite_info));
    println!();
    println!(
        "{:<14} {:>5} {:>14} {:>9} {:>16} {:>9} {:>8}",
        "operation", "conc.", "SQLite calls/s", "p50", "PostgreSQL /s", "p50", "ratio"
    );
    for operation in [Operation::GetMessages, Operation::SendMessage] {
        for concurrency in [1, 16] {
            let on_sqlite = runtime.block_on(measure_mcp(&sqlite_info, operation, concurrency));
            let on_postgres = runtime.block_on(measure_mcp(&postgres_info, operation, concurrency));
            println!(
                "{:<14} {:>5} {:>14.0} {:>9.2} {:>16.0} {:>9.2} {:>7.2}x",
                operation.tool(),
                concurrency,
                on_sqlite.per_second,
                ms(on_sqlite.p50),
                on_postgres.per_second,
                ms(on_postgres.p50),
                on_postgres.per_second / on_sqlite.per_second,
            );
        }
    }
    // Database transactions per call on a known token and session: PostgreSQL's own count
    // over a fixed number of calls, less what an idle wait of the same length commits.
    let options = database.connect_options();
    runtime.block_on(async {
        let mut session = open_session(postgres_info.address, postgres_info.bearer.clone()).await;
        run_mcp(&mut session, &postgres_info, Operation::GetMessages).await;
        let idle_before = committed_transactions(&options).await;
        let idle = committed_transactions(&options).await - idle_before;
        for operation in [Operation::GetMessages, Operation::SendMessage] {
            let before = committed_transactions(&options).await;
            for _ in 0..CALLS_COUNTED {
                run_mcp(&mut session, &postgres_info, operation).await;
            }
            let committed = committed_transactions(&options).await - before - idle;
            println!(
                "database transactions per {} on a known token and session: {:.2} ({committed} over {CALLS_COUNTED} calls)",
                operation.tool(),
                committed as f64 / CALLS_COUNTED as f64
            );
        }
    });
}
