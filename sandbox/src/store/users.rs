//! A team's users (Clerk Chat's admin API).

use std::str::FromStr;

use chrono::Utc;
use clerk_chat::types;
use clerk_store::StoreError;
use sqlx::{AssertSqlSafe, Row};

use super::{Store, new_id, parse_time, timestamp};

impl Store {
    /// Adds a user; `None` when the team has one with this email already.
    pub(crate) async fn add_user(
        &self,
        team_id: &str,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        role: &str,
    ) -> Result<Option<types::ClerkChatUserResponse>, StoreError> {
        let id = new_id("usr");
        let result = sqlx::query("INSERT INTO users (id, team_id, email, first_name, last_name, role, created) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (team_id, email) DO NOTHING")
            .bind(&id)
            .bind(team_id)
            .bind(email)
            .bind(first_name)
            .bind(last_name)
            .bind(role)
            .bind(timestamp(Utc::now()))
            .execute(self.writer())
            .await?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(types::ClerkChatUserResponse {
            id,
            email: email.to_owned(),
            role: role.to_owned(),
            first_name: first_name.map(str::to_owned),
            last_name: last_name.map(str::to_owned),
        }))
    }

    /// The team's users, all or those with the given emails.
    pub(crate) async fn search_users(&self, team_id: &str, emails: &[String]) -> Result<Vec<types::ClerkChatUser>, StoreError> {
        let mut sql = String::from("SELECT id, email, first_name, last_name, role, created FROM users WHERE team_id = ?");
        if !emails.is_empty() {
            sql.push_str(&format!(" AND email IN ({})", vec!["?"; emails.len()].join(", ")));
        }
        sql.push_str(" ORDER BY created, id");
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(team_id);
        for email in emails {
            query = query.bind(email);
        }
        let rows = query.fetch_all(self.reader()).await?;
        Ok(rows
            .iter()
            .map(|row| types::ClerkChatUser {
                id: row.get(0),
                email: row.get(1),
                first_name: row.get(2),
                last_name: row.get(3),
                role: types::UserRole::from_str(row.get::<&str, _>(4)).ok(),
                created: Some(parse_time(row.get(5))),
            })
            .collect())
    }
}
