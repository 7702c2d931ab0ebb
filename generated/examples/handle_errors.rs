//! What a failed call tells: the HTTP status and Clerk Chat's message for a refused request,
//! and whether retrying can help. Sends from a number that is not the team's, which Clerk Chat
//! refuses. Needs `CLERK_API_KEY` (and `CLERK_CHAT_BASE_URL` for the sandbox).

use clerk_chat::types::SendMessageRequest;
use clerk_chat::{Client, ErrorExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let request =
        SendMessageRequest::builder().sender("+15550009999").recipients(vec!["+15559876543".parse()?]).body("This will not be sent");
    match client.send_message().body(request).send().await {
        Ok(sent) => println!("unexpectedly sent message {}", sent.data.id),
        Err(error) => {
            // A 429 or 5xx may pass on a later try; other refusals need a changed request.
            let status = error.status().map_or("no answer".to_owned(), |status| status.to_string());
            println!(
                "refused with {status}: {:?}; retrying {}",
                error.messages(),
                if error.is_retryable() { "may help" } else { "will not help" }
            );
        }
    }
    Ok(())
}
