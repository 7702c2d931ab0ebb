//! The `clerk-sandbox` binary as a user runs it: data survives `kill -9` after a 2xx answer,
//! and a campaign scheduled before a crash goes out after the restart.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clerk_chat::{ApiKey, Client, types};

struct Process {
    child: Child,
    base_url: String,
    api_key: Option<String>,
    /// The seeded inbox numbers, on first start.
    inbox_phones: Vec<String>,
}

/// Starts the binary on a free port and reads its banner: base URL and, on first start, the key.
fn spawn(database: &Path) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clerk-sandbox"))
        .args(["--bind", "127.0.0.1:0", "--delivery-delay-ms", "50", "--rate-limit", "0", "--database"])
        .arg(database)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the sandbox binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut base_url = None;
    let mut api_key = None;
    let mut inbox_phones = Vec::new();
    // The banner: the URL, the database, and on first start the seeded team, ending with its list.
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("Clerk Chat sandbox listening on ") {
            base_url = Some(url.to_owned());
        } else if let Some(key) = line.trim().strip_prefix("API key (shown once, keep it): ") {
            api_key = Some(key.to_owned());
        } else if let Some(inbox) = line.trim().strip_prefix("inbox ") {
            inbox_phones.push(inbox.split(' ').next().unwrap().to_owned());
        } else if (line.starts_with("Database: ") && !line.contains("(new)")) || line.trim_start().starts_with("contact list") {
            break;
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Process { child, base_url: base_url.expect("the banner names the URL"), api_key, inbox_phones }
}

fn client(process: &Process, key: &str) -> Client {
    Client::with_api_key(&process.base_url, &ApiKey::new(key).unwrap()).unwrap()
}

#[tokio::test]
async fn nothing_acknowledged_is_lost_on_kill_9() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("sandbox.db");
    let mut first = spawn(&database);
    let key = first.api_key.clone().expect("a new database is seeded and its key printed");
    let api = client(&first, &key);
    let inbox_phone = first.inbox_phones[0].clone();
    let mut sent_ids = Vec::new();
    for index in 0..20 {
        let body = types::SendMessageRequest::builder()
            .sender(inbox_phone.as_str())
            .recipients(vec!["+15559876543".parse().unwrap()])
            .body(format!("durable {index}"));
        let response = api.send_message().body(body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 201);
        sent_ids.push(response.into_inner().data.id);
    }
    let contact = api
        .create_contact()
        .body(types::CreateContactRequest::builder().name(Some("Last write".parse().unwrap())))
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    first.child.kill().unwrap(); // SIGKILL: no shutdown code runs.
    first.child.wait().unwrap();

    let mut second = spawn(&database);
    assert!(second.api_key.is_none(), "a restart does not seed again");
    let api = client(&second, &key);
    let page = api.find_messages().send().await.unwrap().into_inner();
    assert_eq!(page.total, 20);
    let mut found: Vec<_> = page.data.iter().map(|message| message.id).collect();
    found.sort_unstable();
    assert_eq!(found, sent_ids);
    let searched = api.search_contacts().query("Last write").send().await.unwrap().into_inner().data;
    assert_eq!(searched.iter().map(|found| found.id.clone()).collect::<Vec<_>>(), vec![contact.id]);
    second.child.kill().unwrap();
    second.child.wait().unwrap();
}

#[tokio::test]
async fn a_campaign_due_while_the_sandbox_was_down_goes_out_after_restart() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("sandbox.db");
    let mut first = spawn(&database);
    let key = first.api_key.clone().unwrap();
    let api = client(&first, &key);
    let inbox_phone = first.inbox_phones[0].clone();
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(800);
    let request = types::CreateAndTriggerCampaignRequest::builder()
        .sender(inbox_phone.as_str())
        .list_name("Demo customers")
        .body("Scheduled before the crash")
        .timestamp(Some(due));
    let campaign = api.create_and_trigger_campaign().body(request).send().await.unwrap().into_inner().data;
    assert_eq!(campaign.status, types::CampaignStatus::Scheduled);
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    // Stay down past the due time.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(chrono::Utc::now() > due);
    let mut second = spawn(&database);
    let api = client(&second, &key);
    let deadline = Instant::now() + Duration::from_secs(10);
    let delivered = loop {
        let page = api.find_messages().send().await.unwrap().into_inner();
        if page.total == 4 || Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(delivered.total, 4, "four contacts of the list have not opted out");
    assert!(delivered.data.iter().all(|message| message.campaign_id == Some(campaign.id)));
    second.child.kill().unwrap();
    second.child.wait().unwrap();
}
