//! SMS and WhatsApp through Twilio's Messages API: a form POST with basic
//! auth (account SID and auth token); 201 with the message's `sid`.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::{Address, Channel, Delivery, Outgoing, classify, read_capped, unreachable};
use crate::domain::ChannelKind;

pub struct Twilio {
    pub http: reqwest::Client,
    pub base_url: Url,
    pub account_sid: String,
    pub auth_token: SecretString,
    pub from: String,
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

/// The form Twilio documents: `To`, `From` (or `MessagingServiceSid`) and
/// `Body` — or, for a WhatsApp template, `ContentSid` and
/// `ContentVariables`; WhatsApp numbers carry the `whatsapp:` prefix.
pub fn form(message: &Outgoing, from: &str) -> Option<Vec<(&'static str, String)>> {
    let Address::Phone(to) = &message.to else {
        return None;
    };
    let prefix = if message.channel == ChannelKind::Whatsapp {
        "whatsapp:"
    } else {
        ""
    };
    let mut form = vec![("To", format!("{prefix}{to}"))];
    if from.starts_with("MG") {
        form.push(("MessagingServiceSid", from.to_owned()));
    } else {
        form.push(("From", format!("{prefix}{from}")));
    }
    match (&message.whatsapp, message.channel) {
        (Some(content), ChannelKind::Whatsapp) => {
            form.push(("ContentSid", content.content_sid.clone()));
            let variables = serde_json::to_string(&content.variables).unwrap_or_default();
            form.push(("ContentVariables", variables));
        }
        _ => form.push(("Body", message.body.clone())),
    }
    Some(form)
}

#[async_trait]
impl Channel for Twilio {
    fn provider(&self) -> &'static str {
        "twilio"
    }

    async fn send(&self, message: &Outgoing) -> Delivery {
        let Some(form) = form(message, &self.from) else {
            return Delivery::Failed {
                status: None,
                detail: "no phone number".into(),
            };
        };
        let path = format!("2010-04-01/Accounts/{}/Messages.json", self.account_sid);
        let Ok(url) = self.base_url.join(&path) else {
            return Delivery::Failed {
                status: None,
                detail: "bad Twilio URL".into(),
            };
        };
        let Ok(body) = serde_urlencoded::to_string(&form) else {
            return Delivery::Failed {
                status: None,
                detail: "the message cannot be encoded".into(),
            };
        };
        let sent = self
            .http
            .post(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        match sent {
            Err(e) => unreachable("Twilio", &e),
            Ok(response) => {
                let status = response.status().as_u16();
                let text = read_capped(response, 16 * 1024).await;
                let sid = serde_json::from_str::<Created>(&text).ok().map(|c| c.sid);
                classify(status, sid, &text)
            }
        }
    }
}
