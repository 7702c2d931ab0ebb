//! The real binary as a child process, for what an in-process server cannot show: its memory
//! (RSS from /proc), its log lines on stderr, its environment.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

/// A `clerk-mcp` process serving HTTP on a loopback port, with its own data directory; killed
/// when dropped.
pub(crate) struct SpawnedServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    pub(crate) directory: tempfile::TempDir,
    stderr: std::path::PathBuf,
    args: Vec<String>,
    environment: Vec<(String, String)>,
}

impl SpawnedServer {
    /// Starts the binary with `args` (and `--listen 127.0.0.1:0 --data-dir ...`) and `environment`,
    /// and waits for its banner.
    pub(crate) fn start(args: &[&str], environment: &[(&str, &str)]) -> SpawnedServer {
        let directory = tempfile::tempdir().unwrap();
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        let environment: Vec<(String, String)> =
            environment.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        let (child, base, stderr) = spawn(directory.path(), &args, &environment);
        SpawnedServer { child, base, directory, stderr, args, environment }
    }

    /// Kills the process with SIGKILL, as a crash or an OOM killer would (nothing is flushed
    /// or closed), and starts it again on the same data directory and port settings.
    pub(crate) fn kill_and_restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let (child, base, stderr) = spawn(self.directory.path(), &self.args, &self.environment);
        (self.child, self.base, self.stderr) = (child, base, stderr);
    }

    /// Resident memory, in MiB.
    pub(crate) fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: f64 = status
            .lines()
            .find(|line| line.starts_with("VmRSS:"))
            .and_then(|line| line.split_whitespace().nth(1))
            .unwrap()
            .parse()
            .unwrap();
        kib / 1024.0
    }

    /// Bytes of the sign-in database, with its write-ahead log.
    pub(crate) fn database_bytes(&self) -> u64 {
        ["oauth.db", "oauth.db-wal"]
            .iter()
            .filter_map(|file| std::fs::metadata(self.directory.path().join("data/oauth").join(file)).ok())
            .map(|metadata| metadata.len())
            .sum()
    }

    /// Everything the process has logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary on `directory` and waits for its banner: the child, its base URL and its
/// stderr log.
fn spawn(directory: &std::path::Path, args: &[String], environment: &[(String, String)]) -> (Child, String, std::path::PathBuf) {
    let stderr =
        directory.join(format!("stderr-{}.log", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_clerk-mcp"));
    command
        .args(["--listen", "127.0.0.1:0", "--sandbox-rate-limit", "0", "--data-dir"])
        .arg(directory.join("data"))
        .args(args)
        .env("RUST_LOG", "info")
        .envs(environment.iter().map(|(name, value)| (name, value)))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap());
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("CLERK_MCP_")) {
        command.env_remove(name);
    }
    let mut child = command.spawn().expect("the server binary starts");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("Clerk Chat MCP server on ").map(|url| url.trim_end_matches("/mcp").to_owned()))
        .unwrap_or_else(|| panic!("no banner: {}", std::fs::read_to_string(&stderr).unwrap_or_default()));
    std::thread::spawn(move || for _ in lines {});
    (child, base, stderr)
}
