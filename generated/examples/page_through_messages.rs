//! Reads every message of the last day, a page of 50 at a time. Needs `CLERK_API_KEY` (and
//! `CLERK_CHAT_BASE_URL` for the sandbox).

use std::num::NonZeroU32;

use clerk_chat::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let limit = NonZeroU32::new(50).expect("50 is not zero");
    let mut messages = Vec::new();
    for page in 1.. {
        let page = NonZeroU32::new(page).expect("pages count from 1");
        let answer = client.find_messages().start(since).limit(limit).page(page).send().await?.into_inner();
        let last_page = answer.links.next.is_none();
        messages.extend(answer.data);
        if last_page {
            break;
        }
    }
    for message in &messages {
        println!("{} {} {:?}: {}", message.created, message.id, message.status, message.body);
    }
    println!("{} messages in the last day", messages.len());
    Ok(())
}
