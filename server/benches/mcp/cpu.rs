//! What each tool call costs the server's process in CPU time, from its own counters in /proc:
//! robust on a shared machine, where latencies swing with whatever else runs.
//!
//! The server runs its sandbox in the same process, so the same number of calls made directly
//! with the SDK measures the sandbox alone; the difference is what the MCP layer costs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Operation, Path, ServerInfo, open_session};

/// Calls per measurement, spread over `CONCURRENCY` workers.
const CALLS: usize = 3000;
const CONCURRENCY: usize = 16;

/// Linux reports process times in clock ticks of 1/100 s (USER_HZ) on every architecture it
/// runs on today.
const TICKS_PER_SECOND: f64 = 100.0;

/// The user and system CPU time the process has used so far, in seconds.
pub(super) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name, in parentheses, may hold spaces: count fields after its end.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / TICKS_PER_SECOND
}

/// The server's CPU time per call, in milliseconds, over `CALLS` calls through `mcp` sessions
/// or directly with the SDK.
pub(super) async fn per_call(server: &Arc<ServerInfo>, pid: u32, operation: Operation, through_mcp: bool) -> f64 {
    let mut paths = Vec::new();
    for _ in 0..CONCURRENCY {
        paths.push(if through_mcp { Path::Mcp(open_session(server.address, server.bearer.clone()).await) } else { Path::Sdk });
    }
    // One call per worker first, so that connections and sessions are not counted.
    for path in &mut paths {
        path.run(server, operation).await;
    }
    let remaining = Arc::new(AtomicUsize::new(CALLS));
    let before = cpu_seconds(pid);
    let workers: Vec<_> = paths
        .into_iter()
        .map(|mut path| {
            let (server, remaining) = (Arc::clone(server), Arc::clone(&remaining));
            tokio::spawn(async move {
                while remaining.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(1)).is_ok() {
                    path.run(&server, operation).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    (cpu_seconds(pid) - before) * 1000.0 / CALLS as f64
}

/// Prints, for each tool, the server's CPU per call through MCP, per request of its sandbox
/// alone, and the difference.
pub(super) fn cpu_per_tools_call(runtime: &tokio::runtime::Runtime, server: &Arc<ServerInfo>, pid: u32) {
    println!("server CPU per call ({CALLS} calls, {CONCURRENCY} at a time; the sandbox runs in the server's process):");
    println!("{:<14} {:>16} {:>20} {:>16}", "operation", "MCP call ms", "sandbox alone ms", "MCP layer ms");
    for operation in [Operation::GetMessages, Operation::SendMessage] {
        let sandbox = runtime.block_on(per_call(server, pid, operation, false));
        let mcp = runtime.block_on(per_call(server, pid, operation, true));
        println!("{:<14} {:>16.3} {:>20.3} {:>16.3}", operation.tool(), mcp, sandbox, mcp - sandbox);
    }
}
