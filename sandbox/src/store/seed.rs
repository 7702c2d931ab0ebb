//! What a new team starts with: an API key, two inboxes on different providers, a user, and a
//! contact list of five contacts, one of them opted out. The demo team of a new sandbox and
//! every team made with `POST /sandbox/teams` are made here.

use chrono::Utc;
use clerk_store::StoreError;
use sqlx::{Sqlite, Transaction};

use super::{Store, hash_key, new_id, timestamp};

/// An inbox made for a new team.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeededInbox {
    /// The inbox id (a UUID, as Clerk Chat's).
    pub id: String,
    /// Its number, to send from.
    pub phone: String,
    /// The simulated provider it sends through.
    pub provider: String,
}

/// A new team and what was made for it. `api_key` is shown once and never stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TeamSeed {
    /// The team's id.
    pub team_id: String,
    /// The name it was given.
    pub name: String,
    /// Its API key: only its hash is stored, so this is the one chance to keep it.
    pub api_key: String,
    /// Its inboxes, on different providers.
    pub inboxes: Vec<SeededInbox>,
    /// The name of its contact list.
    pub list_name: String,
    /// The phone of the list's contact who has opted out.
    pub opted_out_phone: String,
}

/// The demo list's people, and whether each has opted out.
const PEOPLE: [(&str, bool); 5] =
    [("Ada Lovelace", false), ("Grace Hopper", false), ("Alan Turing", false), ("Katherine Johnson", false), ("Edsger Dijkstra", true)];

const LIST_NAME: &str = "Demo customers";

impl Store {
    /// Makes a team with a fresh API key and its demo data, in one transaction.
    pub(crate) async fn create_team(&self, name: &str) -> Result<TeamSeed, StoreError> {
        let now = timestamp(Utc::now());
        let team_id = new_id("team");
        let api_key = format!("ck_sandbox_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        // Each team gets its own fictional numbers from the reserved 555-01xx range.
        let area = 200 + (self.team_count().await? % 700) as u32;
        let phone = |last: u32| format!("+1{area}55501{last:02}");
        let mut transaction = self.writer().begin().await?;
        insert_team(&mut transaction, &team_id, name, &api_key, &now).await?;
        let inboxes = insert_inboxes(&mut transaction, &team_id, &phone).await?;
        sqlx::query("INSERT INTO users (id, team_id, email, first_name, last_name, role, created) VALUES (?, ?, ?, 'Sandbox', 'Owner', 'workspace_owner', ?)")
            .bind(new_id("usr"))
            .bind(&team_id)
            .bind(format!("owner@{team_id}.sandbox.example"))
            .bind(&now)
            .execute(&mut *transaction)
            .await?;
        let opted_out_phone = insert_demo_list(&mut transaction, &team_id, &phone, &now).await?;
        transaction.commit().await?;
        self.remember_key(&api_key, &team_id);
        Ok(TeamSeed { team_id, name: name.to_owned(), api_key, inboxes, list_name: LIST_NAME.to_owned(), opted_out_phone })
    }
}

async fn insert_team(
    transaction: &mut Transaction<'_, Sqlite>,
    team_id: &str,
    name: &str,
    api_key: &str,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO teams (id, name, created) VALUES (?, ?, ?)")
        .bind(team_id)
        .bind(name)
        .bind(now)
        .execute(&mut **transaction)
        .await?;
    sqlx::query("INSERT INTO api_keys (key_sha256, team_id, created) VALUES (?, ?, ?)")
        .bind(hash_key(api_key))
        .bind(team_id)
        .bind(now)
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

async fn insert_inboxes(
    transaction: &mut Transaction<'_, Sqlite>,
    team_id: &str,
    phone: &impl Fn(u32) -> String,
) -> Result<Vec<SeededInbox>, StoreError> {
    let mut inboxes = Vec::new();
    for (index, (inbox_name, provider)) in [("Main line", "twilio"), ("Support", "bandwidth")].into_iter().enumerate() {
        let inbox = SeededInbox { id: uuid::Uuid::new_v4().to_string(), phone: phone(index as u32), provider: provider.to_owned() };
        sqlx::query("INSERT INTO inboxes (id, team_id, name, phone, provider) VALUES (?, ?, ?, ?, ?)")
            .bind(&inbox.id)
            .bind(team_id)
            .bind(inbox_name)
            .bind(&inbox.phone)
            .bind(&inbox.provider)
            .execute(&mut **transaction)
            .await?;
        inboxes.push(inbox);
    }
    Ok(inboxes)
}

/// The contact list with its five people; returns the phone of the one who opted out.
async fn insert_demo_list(
    transaction: &mut Transaction<'_, Sqlite>,
    team_id: &str,
    phone: &impl Fn(u32) -> String,
    now: &str,
) -> Result<String, StoreError> {
    let list_id = new_id("list");
    sqlx::query("INSERT INTO contact_lists (id, team_id, name) VALUES (?, ?, ?)")
        .bind(&list_id)
        .bind(team_id)
        .bind(LIST_NAME)
        .execute(&mut **transaction)
        .await?;
    let mut opted_out_phone = String::new();
    for (index, (person, opted_out)) in PEOPLE.into_iter().enumerate() {
        let contact_id = new_id("ct");
        let contact_phone = phone(10 + index as u32);
        let email = format!("{}@example.com", person.split(' ').next().unwrap_or("x").to_lowercase());
        if opted_out {
            opted_out_phone = contact_phone.clone();
        }
        sqlx::query("INSERT INTO contacts (id, team_id, name, phone, email, opt_out, public, data, created, updated) VALUES (?, ?, ?, ?, ?, ?, 1, '{}', ?, ?)")
            .bind(&contact_id)
            .bind(team_id)
            .bind(person)
            .bind(&contact_phone)
            .bind(&email)
            .bind(opted_out)
            .bind(now)
            .bind(now)
            .execute(&mut **transaction)
            .await?;
        sqlx::query("INSERT INTO contact_list_members (list_id, contact_id) VALUES (?, ?)")
            .bind(&list_id)
            .bind(&contact_id)
            .execute(&mut **transaction)
            .await?;
    }
    Ok(opted_out_phone)
}
