//! Confirming a broadcast by MCP elicitation, with the rmcp client: accept sends, decline and
//! cancel send nothing and say so; a client that cannot be asked still sends; `never` turns it
//! off. (The TypeScript and Python SDK clients do the same in `scripts/client-tests.sh`.)

use std::sync::{Arc, Mutex};

use rmcp::model::{ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult, ElicitationAction, Implementation};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};

use super::on_sandbox;
use crate::common::{call_with, connect, ok, text_of};

/// A client that can be asked, answering every question with `answer`, and keeping the
/// questions it was asked.
#[derive(Clone)]
struct User {
    answer: ElicitationAction,
    questions: Arc<Mutex<Vec<(String, Value)>>>,
}

impl ClientHandler for User {
    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let ElicitRequestParams::FormElicitationParams { message, requested_schema, .. } = request else {
            panic!("the server asks in form mode");
        };
        self.questions.lock().unwrap().push((message, serde_json::to_value(requested_schema).unwrap()));
        let result = ElicitResult::new(self.answer.clone());
        Ok(if self.answer == ElicitationAction::Accept { result.with_content(json!({"send": true})) } else { result })
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(ClientCapabilities::builder().enable_elicitation().build(), Implementation::new("asking-client", "1.0.0"))
    }
}

async fn user(url: &str, answer: ElicitationAction) -> (RunningService<RoleClient, User>, Arc<Mutex<Vec<(String, Value)>>>) {
    clerk_support::tls::install_crypto_provider();
    let questions = Arc::new(Mutex::new(Vec::new()));
    let handler = User { answer, questions: Arc::clone(&questions) };
    let client = handler.serve(StreamableHttpClientTransport::from_uri(url.to_owned())).await.expect("the client connects");
    (client, questions)
}

fn campaign(sender: &str, body: &str) -> Value {
    json!({"sender": sender, "list_name": "Demo customers", "body": body, "timestamp": "2030-01-31T09:00:00Z"})
}

#[tokio::test]
async fn a_campaign_goes_out_only_when_the_user_accepts() {
    let test = on_sandbox(&[]).await;
    let url = test.server.mcp_url();
    let sender = test.sender();

    let (client, questions) = user(&url, ElicitationAction::Accept).await;
    let accepted = ok(call_with(&client, "create_campaign", campaign(&sender, "Spring sale 🌷")).await);
    assert!(accepted["data"]["id"].is_number(), "{accepted}");
    let (question, schema) = questions.lock().unwrap()[0].clone();
    for expected in [
        "Send a campaign to a contact list?",
        "To: every contact of \"Demo customers\" (opted-out contacts are skipped",
        &format!("From: {sender}"),
        "Text: \"Spring sale 🌷\"",
        "Cost: 1 segment(s) per contact, UCS-2",
        "When: scheduled for 2030-01-31T09:00:00Z",
    ] {
        assert!(question.contains(expected), "the question shows `{expected}`:\n{question}");
    }
    assert_eq!(schema["properties"]["send"]["type"], "boolean", "{schema}");
    // A plain send is not a broadcast: no question.
    ok(call_with(&client, "send_message", json!({"sender": sender, "recipients": ["+15559876543"], "body": "Not asked"})).await);
    assert_eq!(questions.lock().unwrap().len(), 1);
    client.cancel().await.unwrap();

    for (answer, word) in [(ElicitationAction::Decline, "declined"), (ElicitationAction::Cancel, "cancelled")] {
        let (client, questions) = user(&url, answer).await;
        let body = format!("Refused campaign ({word})");
        let result = call_with(&client, "create_campaign", campaign(&sender, &body)).await;
        let text = text_of(&result);
        assert_eq!(result.is_error, Some(true), "{text}");
        assert!(text.contains(&format!("nothing was sent: the user {word} when asked to confirm it")), "{text}");
        assert_eq!(questions.lock().unwrap().len(), 1);
        // Refused, so the same campaign is not a repeat: accepting it later sends it.
        client.cancel().await.unwrap();
        let (client, _) = user(&url, ElicitationAction::Accept).await;
        ok(call_with(&client, "create_campaign", campaign(&sender, &body)).await);
        client.cancel().await.unwrap();
    }
    test.shutdown().await;
}

#[tokio::test]
async fn a_client_that_cannot_be_asked_still_sends_and_never_turns_asking_off() {
    let test = on_sandbox(&[]).await;
    let (client, _) = connect(&test.server.mcp_url()).await;
    ok(crate::common::call(&client, "create_campaign", campaign(&test.sender(), "No elicitation")).await);
    client.cancel().await.unwrap();
    test.shutdown().await;

    let test = on_sandbox(&["--confirm-campaigns-over", "never"]).await;
    let (client, questions) = user(&test.server.mcp_url(), ElicitationAction::Decline).await;
    ok(call_with(&client, "create_campaign", campaign(&test.sender(), "Never asked")).await);
    assert!(questions.lock().unwrap().is_empty());
    client.cancel().await.unwrap();
    test.shutdown().await;
}
