//! One way every provider client sends a JSON request and reads its
//! answer: 429 becomes [`ProviderError::Quota`] with the provider's
//! `Retry-After` (else a default), any other error status a
//! [`ProviderError::Failed`] carrying the provider's own message (Google's
//! and OpenAI's error bodies are both `{"error": {"message": …}}`).

use std::time::Duration;

use reqwest::{StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ProviderError;

/// The wait after a 429 that names none.
pub const DEFAULT_QUOTA_WAIT: Duration = Duration::from_secs(30);
/// The most of an error body kept in a message.
const MAX_ERROR_CHARS: usize = 300;

/// POST `body` as JSON with `bearer`, and decode the answer as `T`.
pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
    provider: &'static str,
    http: &reqwest::Client,
    url: url::Url,
    bearer: Option<&str>,
    body: &B,
) -> Result<T, ProviderError> {
    let failed = |detail: String| ProviderError::Failed { provider, detail };
    let mut request = http.post(url).json(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(DEFAULT_QUOTA_WAIT, Duration::from_secs);
        return Err(ProviderError::Quota {
            provider,
            retry_after,
        });
    }
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(failed(format!("{status}: {}", error_message(&body))));
    }
    response
        .json::<T>()
        .await
        .map_err(|e| failed(format!("an answer not in the documented shape: {e}")))
}

/// The `error.message` of a Google or OpenAI error body, else the body's
/// start.
fn error_message(body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.to_owned());
    message.chars().take(MAX_ERROR_CHARS).collect()
}

/// The HTTP client providers share: bounded connect and total time.
pub fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_gzip()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .build()?)
}
