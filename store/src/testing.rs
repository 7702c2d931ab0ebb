//! Fresh PostgreSQL databases for tests (the `testing` feature): in the server
//! `scripts/postgres.sh` names (`DATABASE_URL`, the machine's own, or a private cluster it
//! starts), one new database per call, so that tests never share state.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

use crate::DatabaseUrl;

/// Numbers the databases of this process.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// The server's URL, found once per process.
fn server_url() -> &'static str {
    static SERVER: OnceLock<String> = OnceLock::new();
    SERVER.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");
        let output = std::process::Command::new("bash").arg(script).output().expect("bash runs scripts/postgres.sh");
        assert!(output.status.success(), "no PostgreSQL for the tests: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("a URL").trim().to_owned()
    })
}

/// A new, empty database, named after this process so that leftovers of finished test runs are
/// dropped when the next run starts.
pub async fn fresh_postgres_database() -> DatabaseUrl {
    let server = server_url();
    let mut admin = sqlx::PgConnection::connect(server).await.unwrap_or_else(|error| panic!("cannot connect to {server}: {error}"));
    if NEXT.load(Ordering::SeqCst) == 0 {
        drop_leftovers(&mut admin).await;
    }
    let name = format!("clerk_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
    admin.close().await.ok();
    let (base, _) = server.rsplit_once('/').expect("a PostgreSQL URL has a path");
    DatabaseUrl::parse(&format!("{base}/{name}")).unwrap()
}

/// Drops the databases of test processes that are gone.
async fn drop_leftovers(admin: &mut sqlx::PgConnection) {
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'clerk\\_test\\_%'")
        .fetch_all(&mut *admin)
        .await
        .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).and_then(|pid| pid.parse::<u32>().ok());
        if pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut *admin).await;
        }
    }
}
