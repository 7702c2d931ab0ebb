//! Reads every message of the last day, a page at a time as the stream is read. Needs
//! `CLERK_API_KEY` (and `CLERK_CHAT_BASE_URL` for the sandbox).

use clerk_chat::Client;
use futures::TryStreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let messages: Vec<_> = client.find_messages().start(since).stream().try_collect().await?;
    for message in &messages {
        println!("{} {} {:?}: {}", message.created, message.id, message.status, message.body);
    }
    println!("{} messages in the last day", messages.len());
    Ok(())
}
