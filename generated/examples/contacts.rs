//! Creates 250 contacts (in batches of 100, which `create_contacts` sends for us), finds one
//! again, renames it and deletes it. Needs `CLERK_API_KEY` (and `CLERK_CHAT_BASE_URL` for the
//! sandbox).

use clerk_chat::Client;
use clerk_chat::types::{CreateContactRequest, UpdateContactRequest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let mut guests = Vec::new();
    for number in 0..250 {
        let phone = format!("+1555010{number:04}").parse()?;
        guests.push(CreateContactRequest { name: Some(format!("Guest {number}").parse()?), phone: Some(phone), ..Default::default() });
    }
    let created = client.create_contacts(guests).await?;
    println!("created {} contacts", created.len());

    let found = client.search_contacts().phone("+15550100001").send().await?;
    let contact = found.data.first().ok_or("the contact just created was not found")?;
    println!("found {} ({})", contact.id.as_str(), contact.name.as_deref().unwrap_or("no name"));

    let rename = UpdateContactRequest::builder().name(Some("Guest One".try_into()?));
    let renamed = client.update_contact().id(contact.id.clone()).body(rename).send().await?;
    println!("renamed it to {}", renamed.data.name.as_deref().unwrap_or(""));
    client.delete_contact().id(contact.id.clone()).send().await?;
    println!("deleted it");
    Ok(())
}
