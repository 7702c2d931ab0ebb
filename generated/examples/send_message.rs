//! Sends one SMS. Run against the sandbox (`cargo run -p clerk-sandbox` prints a key and its
//! numbers) or Clerk Chat:
//!
//! ```sh
//! CLERK_API_KEY=... CLERK_CHAT_BASE_URL=http://127.0.0.1:8788 CLERK_CHAT_SENDER=+12005550100 \
//!     cargo run -p clerk-chat --example send_message -- +15559876543 "Your table is ready"
//! ```

use clerk_chat::Client;
use clerk_chat::types::SendMessageRequest;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let (Some(recipient), Some(text)) = (arguments.next(), arguments.next()) else {
        return Err("usage: send_message RECIPIENT TEXT (the recipient in E.164, such as +15559876543)".into());
    };
    let sender = std::env::var("CLERK_CHAT_SENDER").map_err(|_| "set CLERK_CHAT_SENDER to one of the team's numbers")?;
    let client = Client::from_env()?;
    let request = SendMessageRequest::builder().sender(sender).recipients(vec![recipient.parse()?]).body(text);
    let sent = client.send_message().body(request).send().await?;
    println!("sent message {} ({:?}, {} segment(s))", sent.data.id, sent.data.status, sent.data.segments.unwrap_or(1));
    Ok(())
}
