//! A team's contacts (with their opt-out) and contact lists.

use chrono::Utc;
use clerk_chat::types;
use clerk_store::StoreError;
use serde_json::{Map, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Store, new_id, parse_time, timestamp};

/// The fields of a contact in a create or update body; `None` leaves a field as it is.
pub(crate) struct ContactFields {
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) public: Option<bool>,
    pub(crate) data: Option<Map<String, Value>>,
}

const CONTACT_COLUMNS: &str = "id, team_id, created_by_user_id, name, phone, email, opt_out, public, data, created, updated";

/// A contact search answers at most this many.
const SEARCH_LIMIT: i64 = 200;

impl Store {
    /// The team's contacts matching every given filter: exact phone, email (any case), and a
    /// text `query` found in the name, email or phone.
    pub(crate) async fn search_contacts(
        &self,
        team_id: &str,
        phone: Option<&str>,
        email: Option<&str>,
        query: Option<&str>,
    ) -> Result<Vec<types::Contact>, StoreError> {
        let mut sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE team_id = ?");
        if phone.is_some() {
            sql.push_str(" AND phone = ?");
        }
        if email.is_some() {
            sql.push_str(" AND email = ? COLLATE NOCASE");
        }
        if query.is_some() {
            sql.push_str(" AND (name LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\' OR phone LIKE ? ESCAPE '\\')");
        }
        sql.push_str(&format!(" ORDER BY created, id LIMIT {SEARCH_LIMIT}"));
        let mut statement = sqlx::query(AssertSqlSafe(sql)).bind(team_id);
        if let Some(phone) = phone {
            statement = statement.bind(phone);
        }
        if let Some(email) = email {
            statement = statement.bind(email);
        }
        if let Some(query) = query {
            let escaped = query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let pattern = format!("%{escaped}%");
            statement = statement.bind(pattern.clone()).bind(pattern.clone()).bind(pattern);
        }
        let rows = statement.fetch_all(self.reader()).await?;
        rows.iter().map(contact_from_row).collect()
    }

    /// Creates all contacts or, on a storage error, none.
    pub(crate) async fn create_contacts(&self, team_id: &str, contacts: &[ContactFields]) -> Result<Vec<types::Contact>, StoreError> {
        let now = timestamp(Utc::now());
        let mut transaction = self.writer().begin().await?;
        let mut created = Vec::new();
        for contact in contacts {
            let id = new_id("ct");
            sqlx::query("INSERT INTO contacts (id, team_id, name, phone, email, opt_out, public, data, created, updated) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)")
                .bind(&id)
                .bind(team_id)
                .bind(&contact.name)
                .bind(&contact.phone)
                .bind(&contact.email)
                .bind(contact.public.unwrap_or(false))
                .bind(Value::Object(contact.data.clone().unwrap_or_default()).to_string())
                .bind(&now)
                .bind(&now)
                .execute(&mut *transaction)
                .await?;
            let row = sqlx::query(AssertSqlSafe(format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?")))
                .bind(&id)
                .fetch_one(&mut *transaction)
                .await?;
            created.push(contact_from_row(&row)?);
        }
        transaction.commit().await?;
        Ok(created)
    }

    /// Updates the given fields of a team's contact; `None` when the team has no such contact.
    pub(crate) async fn update_contact(
        &self,
        team_id: &str,
        id: &str,
        fields: &ContactFields,
    ) -> Result<Option<types::Contact>, StoreError> {
        let result = sqlx::query(
            "UPDATE contacts SET name = COALESCE(?, name), email = COALESCE(?, email), phone = COALESCE(?, phone), public = COALESCE(?, public), data = COALESCE(?, data), updated = ? WHERE team_id = ? AND id = ?",
        )
        .bind(&fields.name)
        .bind(&fields.email)
        .bind(&fields.phone)
        .bind(fields.public)
        .bind(fields.data.as_ref().map(|data| Value::Object(data.clone()).to_string()))
        .bind(timestamp(Utc::now()))
        .bind(team_id)
        .bind(id)
        .execute(self.writer())
        .await?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        self.contact(team_id, id).await
    }

    pub(crate) async fn contact(&self, team_id: &str, id: &str) -> Result<Option<types::Contact>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE team_id = ? AND id = ?")))
            .bind(team_id)
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(contact_from_row).transpose()
    }

    /// Deletes a team's contact (and its list memberships); `None` when there is no such contact.
    pub(crate) async fn delete_contact(&self, team_id: &str, id: &str) -> Result<Option<types::Contact>, StoreError> {
        let mut transaction = self.writer().begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE team_id = ? AND id = ?")))
            .bind(team_id)
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(row) = row else { return Ok(None) };
        sqlx::query("DELETE FROM contact_list_members WHERE contact_id = ?").bind(id).execute(&mut *transaction).await?;
        sqlx::query("DELETE FROM contacts WHERE id = ?").bind(id).execute(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(Some(contact_from_row(&row)?))
    }

    /// Opts every contact of the team with this phone out (or back in).
    pub(crate) async fn set_opt_out(&self, team_id: &str, phone: &str, opted_out: bool) -> Result<u64, StoreError> {
        let result = sqlx::query("UPDATE contacts SET opt_out = ?, updated = ? WHERE team_id = ? AND phone = ?")
            .bind(opted_out)
            .bind(timestamp(Utc::now()))
            .bind(team_id)
            .bind(phone)
            .execute(self.writer())
            .await?;
        Ok(result.rows_affected())
    }

    /// The phones among `phones` that belong to opted-out contacts of the team.
    pub(crate) async fn opted_out_among(&self, team_id: &str, phones: &[String]) -> Result<Vec<String>, StoreError> {
        let placeholders = vec!["?"; phones.len()].join(", ");
        let sql =
            format!("SELECT DISTINCT phone FROM contacts WHERE team_id = ? AND opt_out = 1 AND phone IN ({placeholders}) ORDER BY phone");
        let mut query = sqlx::query_scalar(AssertSqlSafe(sql)).bind(team_id);
        for phone in phones {
            query = query.bind(phone);
        }
        Ok(query.fetch_all(self.reader()).await?)
    }

    /// The id of the team's contact list with this name.
    pub(crate) async fn list_by_name(&self, team_id: &str, name: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM contact_lists WHERE team_id = ? AND name = ?")
            .bind(team_id)
            .bind(name)
            .fetch_optional(self.reader())
            .await?)
    }

    pub(crate) async fn list_names(&self, team_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT name FROM contact_lists WHERE team_id = ? ORDER BY name")
            .bind(team_id)
            .fetch_all(self.reader())
            .await?)
    }
}

/// A stored contact as the API shows it. The sandbox makes every id it stores, so an id the
/// API's type refuses is a database that something else wrote: reported, not shown.
fn contact_from_row(row: &SqliteRow) -> Result<types::Contact, StoreError> {
    let data: Map<String, Value> = serde_json::from_str(row.get("data")).unwrap_or_default();
    let id = types::ContactId::try_from(row.get::<String, _>("id")).map_err(|error| sqlx::Error::Decode(error.to_string().into()))?;
    Ok(types::Contact {
        attributes: Vec::new(),
        avatar_url: None,
        created: Some(parse_time(row.get("created"))),
        created_by_user_id: row.get("created_by_user_id"),
        data: Some(types::ContactData(data)),
        email: row.get("email"),
        external_id: None,
        id,
        name: row.get("name"),
        opt_out: Some(row.get("opt_out")),
        phone: row.get("phone"),
        public: Some(row.get("public")),
        team_id: Some(row.get("team_id")),
        updated: Some(parse_time(row.get("updated"))),
    })
}
