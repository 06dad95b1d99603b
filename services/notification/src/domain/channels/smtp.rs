//! Email through any SMTP server (lettre): `smtps://host[:465]` for TLS
//! from the start, `smtp://host[:587]` with STARTTLS required, and
//! `smtp+plain://host:port` for a local server without TLS (refused in
//! production). Marketing mail carries RFC 8058's one-click unsubscribe
//! headers.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use super::{Address, Channel, Delivery, Outgoing};

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Tls,
    StartTls,
    Plain,
}

/// The scheme, host and port of an SMTP URL.
pub fn parse_url(raw: &str) -> Result<(Security, String, u16), String> {
    let url = url::Url::parse(raw).map_err(|e| e.to_string())?;
    let (security, default_port) = match url.scheme() {
        "smtps" => (Security::Tls, 465),
        "smtp" => (Security::StartTls, 587),
        "smtp+plain" => (Security::Plain, 25),
        other => return Err(format!("unknown scheme {other}")),
    };
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or("no host")?;
    Ok((
        security,
        host.to_owned(),
        url.port().unwrap_or(default_port),
    ))
}

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    pub fn new(
        url: &str,
        from: &str,
        username: Option<String>,
        password: Option<SecretString>,
    ) -> anyhow::Result<Self> {
        let (security, host, port) = parse_url(url).map_err(anyhow::Error::msg)?;
        let builder = match security {
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&host)?,
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)?,
            Security::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder.port(port).timeout(Some(Duration::from_secs(15)));
        if let Some(user) = username {
            let password = password
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Self {
            transport: builder.build(),
            from: from.parse()?,
        })
    }
}

/// The message as it goes on the wire.
pub fn message(from: &Mailbox, outgoing: &Outgoing) -> Result<Message, String> {
    let Address::Email { to, name } = &outgoing.to else {
        return Err("no email address".into());
    };
    let to = Mailbox::new(
        (!name.is_empty()).then(|| name.clone()),
        to.parse()
            .map_err(|e| format!("{to:?} is not an address: {e}"))?,
    );
    let domain = from.email.domain().to_owned();
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(
            outgoing
                .subject
                .clone()
                .unwrap_or_else(|| "CraftChain".to_owned()),
        )
        .message_id(Some(format!("<{}@{domain}>", outgoing.id)))
        .header(ContentType::TEXT_PLAIN);
    if let Some(url) = &outgoing.unsubscribe_url {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    builder
        .body(outgoing.body.clone())
        .map_err(|e| e.to_string())
}

#[async_trait]
impl Channel for Smtp {
    fn provider(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, outgoing: &Outgoing) -> Delivery {
        let message = match message(&self.from, outgoing) {
            Ok(m) => m,
            Err(detail) => {
                return Delivery::Failed {
                    status: None,
                    detail,
                };
            }
        };
        match self.transport.send(message).await {
            Ok(response) => Delivery::Delivered {
                provider_id: response.message().next().map(str::to_owned),
                status: Some(u16::from(response.code())),
            },
            Err(e) if e.is_permanent() => Delivery::Failed {
                status: e.status().map(u16::from),
                detail: format!("the SMTP server refused it: {e}"),
            },
            Err(e) => Delivery::Retry {
                status: e.status().map(u16::from),
                detail: format!("SMTP: {e}"),
            },
        }
    }
}
