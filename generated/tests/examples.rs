//! The programs in `examples/`, run as a user runs them: the binaries `cargo test` builds,
//! started with a sandbox's key, URL and number in their environment.

use std::path::PathBuf;
use std::process::Command;

/// `cargo test` builds the package's examples beside the test binaries.
fn example(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().unwrap();
    let path = test_binary.parent().unwrap().parent().unwrap().join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test -p clerk-chat` or `cargo build -p clerk-chat --examples` first",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn every_example_runs_against_the_sandbox() {
    let sandbox = clerk_sandbox::Sandbox::start().await.unwrap();
    let team = sandbox.seeded_team().expect("a fresh sandbox has its demo team").clone();
    let environment = [
        ("CLERK_API_KEY", team.api_key.clone()),
        ("CLERK_CHAT_BASE_URL", sandbox.base_url().to_owned()),
        ("CLERK_CHAT_SENDER", team.inboxes[0].phone.clone()),
    ];
    let run = |name: &'static str, arguments: &'static [&'static str]| {
        let (path, environment) = (example(name), environment.clone());
        // The sandbox answers on this runtime's other threads while the example runs.
        tokio::task::spawn_blocking(move || {
            let output = Command::new(path).args(arguments).envs(environment).output().unwrap();
            let stdout = String::from_utf8(output.stdout).unwrap();
            assert!(output.status.success(), "{name} failed: {}{stdout}", String::from_utf8_lossy(&output.stderr));
            stdout
        })
    };

    let sent = run("send_message", &["+15559876543", "Your table is ready"]).await.unwrap();
    assert!(sent.starts_with("sent message ") && sent.contains("1 segment(s)"), "{sent}");
    let read = run("page_through_messages", &[]).await.unwrap();
    assert!(read.contains("Your table is ready") && read.trim_end().ends_with("1 messages in the last day"), "{read}");
    let contacts = run("contacts", &[]).await.unwrap();
    for line in ["created 250 contacts", "found ", "renamed it to Guest One", "deleted it"] {
        assert!(contacts.contains(line), "{line:?} missing from:\n{contacts}");
    }
    let refused = run("handle_errors", &[]).await.unwrap();
    assert!(refused.starts_with("refused with 4") && refused.contains("retrying will not help"), "{refused}");
    sandbox.shutdown().await;
}
