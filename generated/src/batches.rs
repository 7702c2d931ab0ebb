//! Creating any number of contacts: the batch operation takes at most 100 a call, so this
//! sends as many batches as the list needs, one after the other, and reports what was created
//! when one of them fails.

use crate::sdk::{Client, Error, types};

/// The most contacts one `create_contacts_batch` call takes (the spec's `maxItems`; a test
/// reads the spec to keep the two equal).
pub const CONTACTS_PER_BATCH: usize = 100;

/// A [`Client::create_contacts`] that stopped at a failed batch. The batches before it were
/// created and are in `created`; the failed batch and every one after it are in `not_created`,
/// in the order given, so nothing is lost and the call can be resumed with them.
#[derive(Debug, thiserror::Error)]
#[error("created {} contact(s), then a batch failed ({} not created): {error}", created.len(), not_created.len())]
#[non_exhaustive]
pub struct CreateContactsError {
    /// The contacts created before the failure, as Clerk Chat answered them.
    pub created: Vec<types::Contact>,
    /// The contacts of the failed batch and of every later batch, not sent or refused. When the
    /// failed batch got no answer at all ([`crate::ErrorExt::is_retryable`] with no status),
    /// some of its contacts may exist: search for them before sending them again.
    pub not_created: Vec<types::CreateContactRequest>,
    /// Why the batch failed.
    pub error: Error<types::ErrorResponse>,
}

impl Client {
    /// Creates every contact of `contacts`, in batches of [`CONTACTS_PER_BATCH`], and returns
    /// them as created, in the order given. A batch is a `POST`, so a failed one is never sent
    /// again by itself (see [`CreateContactsError`] for what a failure returns).
    ///
    /// ```no_run
    /// # async fn example(client: &clerk_chat::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use clerk_chat::types::CreateContactRequest;
    ///
    /// let mut guests = Vec::new();
    /// for number in 0..500 {
    ///     let phone = format!("+1555010{number:04}").parse()?;
    ///     guests.push(CreateContactRequest { name: Some(format!("Guest {number}").parse()?), phone: Some(phone), ..Default::default() });
    /// }
    /// let created = client.create_contacts(guests).await?;
    /// assert_eq!(created.len(), 500);
    /// # Ok(()) }
    /// ```
    pub async fn create_contacts(
        &self,
        contacts: impl IntoIterator<Item = types::CreateContactRequest>,
    ) -> Result<Vec<types::Contact>, CreateContactsError> {
        let mut remaining: std::collections::VecDeque<_> = contacts.into_iter().collect();
        let mut created = Vec::with_capacity(remaining.len());
        while !remaining.is_empty() {
            let batch: Vec<_> = remaining.iter().take(CONTACTS_PER_BATCH).cloned().collect();
            let body = types::CreateContactsBatchRequest { contacts: batch };
            match self.create_contacts_batch().body(body).send().await {
                Ok(answer) => {
                    remaining.drain(..CONTACTS_PER_BATCH.min(remaining.len()));
                    created.extend(answer.into_inner().data);
                }
                Err(error) => return Err(CreateContactsError { created, not_created: remaining.into(), error }),
            }
        }
        Ok(created)
    }
}
