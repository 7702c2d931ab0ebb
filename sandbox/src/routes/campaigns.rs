//! `POST /public/campaigns`: a text to a contact list, now or at a time.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use chrono::Utc;
use clerk_chat::types;

use super::{AppState, authenticate, created, team_inbox};
use crate::error::ApiError;
use crate::providers::{self, PROVIDER_NAMES};
use crate::store::NewCampaign;
use crate::validate::{Fields, parse_object};

/// The routes of this module, for [`super::router`].
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/public/campaigns", post(create_campaign))
}

async fn create_campaign(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let team_id = authenticate(&state, &headers)?;
    let object = parse_object(&body)?;
    let mut fields = Fields::new(&object);
    let sender = fields.phone("sender", true);
    let list_name = fields.string("listName", true, 1, 200);
    let text = fields.string("body", true, 1, 1600);
    let media_urls = fields.media_urls("mediaUrls", true);
    let provider = fields.one_of("provider", &PROVIDER_NAMES);
    let name = fields.string("name", false, 0, 200);
    let send_at = fields.date_time("timestamp");
    fields.finish()?;
    let (sender, list_name, text, media_urls) =
        (sender.unwrap_or_default(), list_name.unwrap_or_default(), text.unwrap_or_default(), media_urls.unwrap_or_default());
    let inbox = team_inbox(&state.store, &team_id, &sender).await?;
    let provider = provider.unwrap_or_else(|| inbox.provider.clone());
    let behaviour = providers::behaviour(&provider).unwrap_or(providers::PROVIDERS[0]);
    if let Some(refusal) = behaviour.refusal(&media_urls) {
        return Err(ApiError::invalid(refusal));
    }
    let Some(list_id) = state.store.list_by_name(&team_id, &list_name).await? else {
        let names = state.store.list_names(&team_id).await?;
        return Err(ApiError::NotFound(format!("no contact list named {list_name:?} in this team; its lists are: {}", names.join(", "))));
    };
    let now = Utc::now();
    let send_at = send_at.filter(|time| *time > now).unwrap_or(now);
    let campaign = NewCampaign {
        team_id: &team_id,
        inbox: &inbox,
        list_id: &list_id,
        name: name.as_deref(),
        body: &text,
        media_urls: &media_urls,
        provider: &provider,
        send_at,
    };
    let id = state.store.create_campaign(&campaign).await?;
    if send_at <= now {
        state.store.fire_campaign(id, state.delivery_delay).await?;
    } else {
        state.scheduler.notify_one();
    }
    let data = state.store.campaign(id).await?.ok_or_else(|| ApiError::NotFound("the campaign vanished".to_owned()))?;
    Ok(created(types::CampaignResponse { data }))
}
