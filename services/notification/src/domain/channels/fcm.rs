//! Push through FCM HTTP v1 (`projects/{id}/messages:send`), one request
//! per device token, with the service account's OAuth token from the
//! metadata server.

use std::sync::Arc;

use async_trait::async_trait;
use common::tokens::GoogleAccessTokens;
use serde_json::{Value, json};
use url::Url;

use super::{Address, Channel, Delivery, Outgoing, classify, read_capped, unreachable};

pub struct Fcm {
    pub http: reqwest::Client,
    pub base_url: Url,
    pub project_id: String,
    pub tokens: Arc<GoogleAccessTokens>,
}

/// The v1 message for one device.
pub fn message(message: &Outgoing, token: &str) -> Value {
    json!({
        "message": {
            "token": token,
            "notification": {
                "title": message.subject.clone().unwrap_or_else(|| "CraftChain".to_owned()),
                "body": message.body,
            },
            "data": { "notification_id": message.id },
            "android": { "priority": if message.urgent { "high" } else { "normal" } },
        }
    })
}

#[async_trait]
impl Channel for Fcm {
    fn provider(&self) -> &'static str {
        "fcm"
    }

    /// Delivered when any device took it; retried when none did and one
    /// may later; failed when every token was refused.
    async fn send(&self, outgoing: &Outgoing) -> Delivery {
        let Address::Devices(devices) = &outgoing.to else {
            return Delivery::Failed {
                status: None,
                detail: "no device".into(),
            };
        };
        let path = format!("v1/projects/{}/messages:send", self.project_id);
        let Ok(url) = self.base_url.join(&path) else {
            return Delivery::Failed {
                status: None,
                detail: "bad FCM URL".into(),
            };
        };
        let access = match self.tokens.access_token().await {
            Ok(t) => t,
            Err(e) => {
                return Delivery::Retry {
                    status: None,
                    detail: format!("no access token: {e}"),
                };
            }
        };
        let mut outcomes = Vec::with_capacity(devices.len());
        for device in devices {
            let sent = self
                .http
                .post(url.clone())
                .bearer_auth(&access)
                .json(&message(outgoing, device))
                .send()
                .await;
            outcomes.push(match sent {
                Err(e) => unreachable("FCM", &e),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = read_capped(response, 16 * 1024).await;
                    let name = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| v.get("name").and_then(Value::as_str).map(str::to_owned));
                    classify(status, name, &text)
                }
            });
        }
        combine(outcomes)
    }
}

/// One device's success is the message's; else a retryable failure wins.
pub fn combine(outcomes: Vec<Delivery>) -> Delivery {
    let mut last = Delivery::Failed {
        status: None,
        detail: "no device".into(),
    };
    for outcome in outcomes {
        match outcome {
            Delivery::Delivered { .. } => return outcome,
            Delivery::Retry { .. } => last = outcome,
            Delivery::Failed { .. } if !matches!(last, Delivery::Retry { .. }) => last = outcome,
            Delivery::Failed { .. } => {}
        }
    }
    last
}
