//! The sandbox's error answers, in the shape Clerk Chat's NestJS server uses:
//! `{"statusCode": 422, "message": [...], "error": "Unprocessable Entity"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("malformed JSON body: {0}")]
    MalformedJson(String),
    #[error("missing or invalid apiKey header")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("invalid request: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("too many requests")]
    RateLimited,
    #[error("injected failure {0}")]
    Injected(u16),
    #[error(transparent)]
    Storage(#[from] clerk_store::StoreError),
}

impl ApiError {
    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::Invalid(vec![message.into()])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::MalformedJson(detail) => (StatusCode::BAD_REQUEST, json!(format!("the body is not valid JSON: {detail}"))),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, json!("Unauthorized: send a valid API key in the apiKey header")),
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, json!(what)),
            ApiError::Invalid(problems) => (StatusCode::UNPROCESSABLE_ENTITY, json!(problems)),
            ApiError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, json!("Too many requests for this team; retry after a second")),
            ApiError::Injected(status) => {
                let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                (status, json!(format!("sandbox fault injected with POST /sandbox/faults: {status}")))
            }
            ApiError::Storage(error) => {
                // The cause is logged; the client learns only that it may try again.
                tracing::error!("storage failure: {error}");
                (StatusCode::SERVICE_UNAVAILABLE, json!(clerk_store::StoreError::PUBLIC_MESSAGE))
            }
        };
        let body = json!({
            "statusCode": status.as_u16(),
            "message": message,
            "error": status.canonical_reason().unwrap_or("Error"),
        });
        let mut response = (status, axum::Json(body)).into_response();
        if matches!(self, ApiError::RateLimited | ApiError::Storage(_) | ApiError::Injected(429)) {
            response.headers_mut().insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        response
    }
}
