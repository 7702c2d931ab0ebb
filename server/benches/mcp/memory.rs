//! What idle MCP sessions hold in the server's memory: resident size from /proc, with 1,000
//! sessions left open on their connections, and with 1,000 more whose connections closed.

use std::time::Duration;

use super::open_session;

/// The process's resident memory, in MiB.
pub(super) fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 =
        status.lines().find(|line| line.starts_with("VmRSS:")).and_then(|line| line.split_whitespace().nth(1)).unwrap().parse().unwrap();
    kib / 1024.0
}

/// Opens 1,000 sessions and keeps their connections: the server's RSS then (MiB). Then 1,000
/// more, each on a connection closed at once, as a client between calls holds none: what they
/// added (MiB).
pub(super) fn idle_sessions(runtime: &tokio::runtime::Runtime, address: std::net::SocketAddr, pid: u32) -> (f64, f64) {
    runtime.block_on(async {
        let mut sessions = Vec::new();
        for _ in 0..1000 {
            sessions.push(open_session(address, None).await);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let with_connections = rss_mib(pid);
        drop(sessions);
        let before = rss_mib(pid);
        for _ in 0..1000 {
            drop(open_session(address, None).await);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        (with_connections, rss_mib(pid) - before)
    })
}

/// MiB over 1,000 sessions, as KiB each.
pub(super) fn kib_each(mib: f64) -> f64 {
    mib * 1024.0 / 1000.0
}
