//! The sandbox cannot fall behind the spec unnoticed: every request property of every JSON body
//! in `openapi/clerk-chat.yaml` is sent here with a value, and the sandbox's answer must carry
//! it back (the same field of `data` with the same value), or the property is listed below with
//! what the sandbox does with it instead. A property the spec gains fails this test until it is
//! added here, which means the sandbox must store or echo it.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use clerk_sandbox::Sandbox;

/// One request: the operation, how to call it, a body with every property, and the properties
/// the answer does not echo, each with what the sandbox does with it.
struct Request {
    operation: &'static str,
    method: &'static str,
    path: String,
    body: Value,
    consumed: &'static [(&'static str, &'static str)],
}

fn spec_properties(spec: &serde_yaml::Value, operation: &str) -> BTreeSet<String> {
    for item in spec["paths"].as_mapping().unwrap().values() {
        for operation_value in item.as_mapping().unwrap().values() {
            if operation_value["operationId"].as_str() != Some(operation) {
                continue;
            }
            let reference = operation_value["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str().unwrap();
            let name = reference.rsplit('/').next().unwrap();
            let properties = spec["components"]["schemas"][name]["properties"].as_mapping().unwrap();
            return properties.keys().map(|key| key.as_str().unwrap().to_owned()).collect();
        }
    }
    panic!("the spec has no operation {operation}");
}

async fn send(sandbox: &Sandbox, key: &str, request: &Request) -> Value {
    let http = reqwest::Client::new();
    let url = format!("{}{}", sandbox.base_url(), request.path);
    let builder = if request.method == "PUT" { http.put(url) } else { http.post(url) };
    let response = builder.header("apiKey", key).json(&request.body).send().await.unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert!((200..300).contains(&status), "{}: {status} {answer}", request.operation);
    answer
}

#[tokio::test]
async fn every_request_property_of_the_spec_is_stored_or_echoed() {
    clerk_support::tls::install_crypto_provider();
    let spec: serde_yaml::Value = serde_yaml::from_str(include_str!("../../openapi/clerk-chat.yaml")).unwrap();
    let sandbox = Sandbox::start().await.unwrap();
    let team = sandbox.seeded_team().unwrap().clone();
    let sender = team.inboxes[0].phone.clone();
    let contact =
        json!({"name": "Echo Person", "email": "echo@example.com", "phone": "+15550300001", "public": true, "data": {"crm": "e-1"}});
    let created = send(
        &sandbox,
        &team.api_key,
        &Request { operation: "createContact", method: "POST", path: "/public/contacts".to_owned(), body: contact.clone(), consumed: &[] },
    )
    .await;
    let contact_id = created["data"]["id"].as_str().unwrap().to_owned();
    let requests = requests(&team, &sender, &contact_id, &contact);
    for request in &requests {
        let sent: BTreeSet<String> = request.body.as_object().unwrap().keys().cloned().collect();
        let in_spec = spec_properties(&spec, request.operation);
        assert_eq!(
            sent, in_spec,
            "{}: the spec's request properties changed; send each here and make the sandbox keep it",
            request.operation
        );
        let answer = send(&sandbox, &team.api_key, request).await;
        for (property, value) in request.body.as_object().unwrap() {
            if request.consumed.iter().any(|(name, _)| name == property) {
                continue;
            }
            // Most answers are `{data: ...}`; the user operations answer the object itself.
            let echoed = if answer.get("data").is_some() { &answer["data"] } else { &answer };
            assert_eq!(&echoed[property], value, "{}: `{property}` is not echoed in {answer}", request.operation);
        }
    }
    sandbox.shutdown().await;
}

/// Every operation with a JSON body, each property given a value the sandbox accepts.
fn requests(team: &clerk_sandbox::TeamSeed, sender: &str, contact_id: &str, contact: &Value) -> Vec<Request> {
    vec![
        Request {
            operation: "createContact",
            method: "POST",
            path: "/public/contacts".to_owned(),
            body: json!({"name": "Second", "email": "second@example.com", "phone": "+15550300002", "public": false, "data": {"a": 1}}),
            consumed: &[],
        },
        Request {
            operation: "updateContact",
            method: "PUT",
            path: format!("/public/contacts/{contact_id}"),
            body: json!({"name": "Renamed", "email": "renamed@example.com", "phone": "+15550300003", "public": false, "data": {"crm": "e-2"}}),
            consumed: &[],
        },
        Request {
            operation: "createContactsBatch",
            method: "POST",
            path: "/public/contacts/batch".to_owned(),
            body: json!({"contacts": [contact]}),
            consumed: &[("contacts", "each becomes a contact of `data`, checked field by field by createContact")],
        },
        Request {
            operation: "sendMessage",
            method: "POST",
            path: "/public/messages".to_owned(),
            body: json!({"sender": sender, "recipients": ["+15559876543"], "body": "Echo", "mediaUrls": ["https://example.com/a.png"], "sentByName": "Echo Bot"}),
            consumed: &[
                ("recipients", "the conversation's `members`, beside the sender"),
                ("mediaUrls", "kept with the message (the MMS it sends); the API's Message has no media field"),
            ],
        },
        Request {
            operation: "createAndTriggerCampaign",
            method: "POST",
            path: "/public/campaigns".to_owned(),
            body: json!({"sender": sender, "listName": team.list_name, "body": "Echo all", "mediaUrls": [], "name": "Echo campaign", "timestamp": "2099-01-01T00:00:00Z", "provider": "twilio"}),
            consumed: &[
                ("sender", "the campaign's `inboxId`, the sender's inbox"),
                ("listName", "the list whose contacts become `recipientCount`"),
                ("mediaUrls", "attached to every campaign message, not to the campaign"),
            ],
        },
        Request {
            operation: "addClerkChatUser",
            method: "POST",
            path: "/public/admin/users".to_owned(),
            body: json!({"email": "new.person@example.com", "firstName": "New", "lastName": "Person", "role": "member"}),
            consumed: &[],
        },
    ]
}
