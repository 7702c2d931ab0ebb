//! Paging without bookkeeping: the items of every page of a find, as one stream.
//!
//! Of Clerk Chat's operations only the find of messages pages (`limit` and `page`, with a
//! `links.next` on every page but the last); the contact and user searches answer in one
//! list, so they need no stream.

use std::num::NonZeroU32;

use futures::{Stream, TryStreamExt, stream};

use crate::sdk::{Error, builder, types};

impl<'a> builder::FindMessages<'a> {
    /// Every message the find matches, newest first, fetched a page at a time from the first
    /// page as the stream is read, and ending after the last page. The page size is the
    /// request's `limit` (Clerk Chat's default and maximum is 50); a `page` set on the request
    /// is ignored. A failed page ends the stream with its error.
    ///
    /// ```no_run
    /// # async fn example(client: &clerk_chat::Client) -> Result<(), clerk_chat::Error<clerk_chat::types::ErrorResponse>> {
    /// use futures::TryStreamExt;
    ///
    /// let since = chrono::Utc::now() - chrono::Duration::days(1);
    /// let messages: Vec<_> = client.find_messages().start(since).stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> impl Stream<Item = Result<types::Message, Error<types::ErrorResponse>>> + Unpin + 'a {
        let pages = stream::try_unfold(Some((self, NonZeroU32::MIN)), |next| async move {
            let Some((request, page)) = next else { return Ok::<_, Error<types::ErrorResponse>>(None) };
            let answer = request.clone().page(page).send().await?.into_inner();
            // The last page has no link to a next one; neither does a page number past u32.
            let after = answer.links.next.is_some().then(|| page.checked_add(1)).flatten().map(|page| (request, page));
            Ok(Some((stream::iter(answer.data.into_iter().map(Ok)), after)))
        });
        Box::pin(pages.try_flatten())
    }
}
