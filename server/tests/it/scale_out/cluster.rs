//! The parts of the scale-out test, each real and on loopback: PostgreSQL (a fresh database),
//! a standalone sandbox as the shared upstream, replicas of the real binary, and HAProxy in
//! front of them, round robin with no stickiness.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clerk_sandbox::{Sandbox, TeamSeed};
use clerk_store::DatabaseUrl;

use crate::common;

/// The vault key every replica shares (CLERK_MCP_VAULT_KEY).
const VAULT_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// How long a stopping replica answers 503 at /readyz before it closes its listener: above
/// HAProxy's check interval times its fall count (100 ms x 2), with room for a loaded machine.
const UNREADY_BEFORE_SHUTDOWN_MS: &str = "1000";

pub(crate) struct Cluster {
    /// `http://127.0.0.1:PORT`, the balancer: every client request goes here.
    pub(crate) base: String,
    pub(crate) replicas: Vec<Replica>,
    pub(crate) sandbox: Sandbox,
    pub(crate) team: TeamSeed,
    haproxy: Child,
    /// The replicas' data directories, the keys and the logs; removed when the test ends.
    _directory: tempfile::TempDir,
}

/// One `clerk-mcp serve` process on a fixed port, restartable on the same port.
pub(crate) struct Replica {
    pub(crate) port: u16,
    child: Option<Child>,
    args: Vec<String>,
    log: std::path::PathBuf,
    directory: std::path::PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Cluster {
    pub(crate) async fn start(replica_count: usize) -> Cluster {
        let directory = tempfile::tempdir().unwrap();
        let (sandbox, team) = crate::safe_sends::standalone_sandbox(directory.path()).await;
        let DatabaseUrl::Postgres(database) = clerk_store::testing::fresh_postgres_database().await else { unreachable!("PostgreSQL") };
        let signing_key = directory.path().join("signing-key.pem");
        clerk_oauth::write_new_signing_key(&signing_key).unwrap();
        let balancer_port = free_port();
        let base = format!("http://127.0.0.1:{balancer_port}");
        let mut replicas = Vec::new();
        for index in 0..replica_count {
            let replica_directory = directory.path().join(format!("replica-{index}"));
            let port = free_port();
            let args: Vec<String> = [
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--public-url",
                &base,
                "--upstream",
                sandbox.base_url(),
                "--database-url",
                database.connection_string(),
                "--signing-key-file",
                signing_key.to_str().unwrap(),
                "--trusted-proxy",
                "127.0.0.1",
                "--unready-before-shutdown-ms",
                UNREADY_BEFORE_SHUTDOWN_MS,
                "--data-dir",
                replica_directory.to_str().unwrap(),
            ]
            .iter()
            .map(|arg| (*arg).to_owned())
            .collect();
            let log = directory.path().join(format!("replica-{index}.log"));
            replicas.push(Replica { port, child: None, args, log, directory: replica_directory });
        }
        for replica in &mut replicas {
            replica.start();
        }
        for replica in &replicas {
            replica.wait_ready().await;
        }
        let haproxy = start_haproxy(directory.path(), balancer_port, &replicas);
        let haproxy_log = directory.path().join("haproxy.log");
        wait_until_answers(&format!("{base}/healthz"), Duration::from_secs(10), || {
            std::fs::read_to_string(&haproxy_log).unwrap_or_default()
        })
        .await;
        Cluster { base, replicas, sandbox, team, haproxy, _directory: directory }
    }

    pub(crate) fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// The team's first number, to send from.
    pub(crate) fn sender(&self) -> String {
        self.team.inboxes[0].phone.clone()
    }

    /// Every replica's log so far.
    pub(crate) fn logs(&self) -> String {
        self.replicas.iter().map(|replica| std::fs::read_to_string(&replica.log).unwrap_or_default()).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.haproxy.kill();
        let _ = self.haproxy.wait();
    }
}

impl Replica {
    pub(crate) fn start(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_clerk-mcp"));
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("CLERK_MCP_") || name == "CLERK_API_KEY") {
            command.env_remove(name);
        }
        std::fs::create_dir_all(&self.directory).unwrap();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        command.args(&self.args).env("CLERK_MCP_VAULT_KEY", VAULT_KEY).env("RUST_LOG", "info").stdout(Stdio::null()).stderr(log);
        self.child = Some(command.spawn().expect("the server binary starts"));
    }

    pub(crate) async fn wait_ready(&self) {
        let url = format!("http://127.0.0.1:{}/readyz", self.port);
        wait_until_answers(&url, Duration::from_secs(30), || std::fs::read_to_string(&self.log).unwrap_or_default()).await;
    }

    /// SIGKILL, as a crash or the OOM killer would.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, and waits for the process to end (it drains first).
    pub(crate) async fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// HAProxy as an operator would run it in front of replicas (the README shows the same
/// configuration): round robin, no stickiness, /readyz health checks, and a request whose
/// connection could not be made is tried on another replica (never one that reached a replica).
fn start_haproxy(directory: &std::path::Path, port: u16, replicas: &[Replica]) -> Child {
    let output = Command::new("bash").arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/haproxy.sh")).output().unwrap();
    assert!(output.status.success(), "HAProxy is needed: {}", String::from_utf8_lossy(&output.stderr));
    let haproxy = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let servers: String = replicas
        .iter()
        .enumerate()
        .map(|(index, replica)| format!("    server replica{index} 127.0.0.1:{} check\n", replica.port))
        .collect();
    let config = format!(
        "global\n    maxconn 4096\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 60s\n    timeout server 60s\n\
         \x20   retries 3\n    option redispatch 1\n    retry-on conn-failure\n    option forwardfor\n\
         frontend mcp\n    bind 127.0.0.1:{port}\n    default_backend replicas\n\
         backend replicas\n    balance roundrobin\n    option httpchk GET /readyz\n    http-check expect status 200\n\
         \x20   default-server inter 100ms fall 2 rise 1\n{servers}"
    );
    let path = directory.join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    let log = std::fs::File::create(directory.join("haproxy.log")).unwrap();
    Command::new(haproxy).arg("-db").arg("-f").arg(&path).stdout(Stdio::null()).stderr(log).spawn().expect("HAProxy starts")
}

/// Waits until `url` answers 200, for `within` at most; else fails with `log`, what the
/// process said.
async fn wait_until_answers(url: &str, within: Duration, log: impl Fn() -> String) {
    let started = Instant::now();
    while !common::http().get(url).send().await.is_ok_and(|answer| answer.status().is_success()) {
        assert!(started.elapsed() < within, "{url} does not answer: {}", log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
