//! `Client::create_contacts` against a sandbox: any number of contacts in batches the API
//! takes, and a failed batch that loses nothing and can be resumed.

use clerk_chat::types::CreateContactRequest;
use clerk_chat::{ApiKey, CONTACTS_PER_BATCH, Client, ErrorExt};

fn guest(number: usize) -> CreateContactRequest {
    CreateContactRequest {
        name: Some(format!("Batch guest {number}").parse().unwrap()),
        phone: Some(format!("+1555020{number:04}").parse().unwrap()),
        ..Default::default()
    }
}

#[test]
fn the_batch_size_is_the_specs_limit() {
    let spec = include_str!("../../openapi/clerk-chat.yaml");
    let batch_request = &spec[spec.find("    CreateContactsBatchRequest:").expect("the spec names the batch request")..];
    let limit = batch_request.lines().find_map(|line| line.trim().strip_prefix("maxItems: ")).expect("the batch has a maxItems");
    assert_eq!(limit.parse::<usize>().unwrap(), CONTACTS_PER_BATCH);
}

#[tokio::test]
async fn contacts_beyond_one_batch_are_created_in_order_and_a_failed_batch_is_returned_to_resume() {
    let sandbox = clerk_sandbox::Sandbox::start().await.unwrap();
    let team = sandbox.seeded_team().expect("a fresh sandbox has its demo team").clone();
    let client = Client::with_api_key(sandbox.base_url(), &ApiKey::new(team.api_key.as_str()).unwrap()).unwrap();
    // How many contacts have guest `number`'s phone (the sandbox's search answers at most 200).
    let copies_of = |number: usize| {
        let request = client.search_contacts().phone(format!("+1555020{number:04}"));
        async move { request.send().await.unwrap().into_inner().data.len() }
    };

    let created = client.create_contacts((0..250).map(guest)).await.unwrap();
    assert_eq!(created.len(), 250, "three batches: 100, 100 and 50");
    let names: Vec<_> = created.iter().map(|contact| contact.name.clone().unwrap_or_default()).collect();
    assert_eq!((names[0].as_str(), names[249].as_str()), ("Batch guest 0", "Batch guest 249"), "in the order given");
    assert_eq!((copies_of(0).await, copies_of(249).await), (1, 1));

    // The 150th contact has an email the API refuses (the SDK checks only its length), so the
    // second batch fails: the first stays created, the rest comes back, nothing is sent twice.
    let mut more: Vec<_> = (250..500).map(guest).collect();
    more[149].email = Some("not an email".parse().unwrap());
    let error = client.create_contacts(more).await.unwrap_err();
    assert_eq!(error.created.len(), CONTACTS_PER_BATCH);
    assert_eq!(error.not_created.len(), 150, "the failed batch and the one after it");
    assert_eq!(error.not_created[0], guest(350));
    assert_eq!(error.error.status().map(|status| status.as_u16()), Some(422), "{error}");
    assert!(error.error.messages().iter().any(|message| message.contains("contacts.49.email")), "{:?}", error.error.messages());
    assert!(error.to_string().starts_with("created 100 contact(s), then a batch failed (150 not created)"), "{error}");
    assert_eq!((copies_of(349).await, copies_of(350).await), (1, 0), "the first batch only");

    let mut resume = error.not_created;
    resume[49].email = None;
    assert_eq!(client.create_contacts(resume).await.unwrap().len(), 150);
    assert_eq!((copies_of(349).await, copies_of(350).await, copies_of(499).await), (1, 1, 1), "each once");
    sandbox.shutdown().await;
}
