//! Email through SendGrid's v3 `mail/send`: a JSON request with a bearer
//! key; 202 with `X-Message-Id` when accepted.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use super::{Address, Channel, Delivery, Outgoing, classify, read_capped, unreachable};

pub struct SendGrid {
    pub http: reqwest::Client,
    pub base_url: Url,
    pub api_key: SecretString,
    pub from: String,
    pub from_name: Option<String>,
}

/// The request body SendGrid documents for one plain-text message.
pub fn request(message: &Outgoing, from: &str, from_name: Option<&str>) -> Option<Value> {
    let Address::Email { to, name } = &message.to else {
        return None;
    };
    let mut from_obj = json!({ "email": from });
    if let Some(n) = from_name {
        from_obj["name"] = json!(n);
    }
    let mut to_obj = json!({ "email": to });
    if !name.is_empty() {
        to_obj["name"] = json!(name);
    }
    let mut body = json!({
        "personalizations": [{ "to": [to_obj] }],
        "from": from_obj,
        "subject": message.subject.clone().unwrap_or_else(|| "CraftChain".to_owned()),
        "content": [{ "type": "text/plain", "value": message.body }],
        "custom_args": { "notification_id": message.id },
    });
    if let Some(url) = &message.unsubscribe_url {
        body["headers"] = json!({
            "List-Unsubscribe": format!("<{url}>"),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        });
    }
    Some(body)
}

#[async_trait]
impl Channel for SendGrid {
    fn provider(&self) -> &'static str {
        "sendgrid"
    }

    async fn send(&self, message: &Outgoing) -> Delivery {
        let Some(body) = request(message, &self.from, self.from_name.as_deref()) else {
            return Delivery::Failed {
                status: None,
                detail: "no email address".into(),
            };
        };
        let Ok(url) = self.base_url.join("v3/mail/send") else {
            return Delivery::Failed {
                status: None,
                detail: "bad SendGrid URL".into(),
            };
        };
        let sent = self
            .http
            .post(url)
            .bearer_auth(self.api_key.expose_secret())
            .json(&body)
            .send()
            .await;
        match sent {
            Err(e) => unreachable("SendGrid", &e),
            Ok(response) => {
                let status = response.status().as_u16();
                let id = response
                    .headers()
                    .get("x-message-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let text = read_capped(response, 4096).await;
                classify(status, id, &text)
            }
        }
    }
}
