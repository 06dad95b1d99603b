//! The real providers, each against a stand-in checking the request its
//! documentation describes: SendGrid, Twilio (SMS and WhatsApp) and FCM
//! against wiremock; SMTP against a real SMTP server in the test.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use http::StatusCode;
use mailin_embedded::{Handler, Response, Server, SslConfig};
use notification::config::{EmailProvider, PushProvider, TwilioProvider};
use serde_json::{Value, json};
use testkit::users::BUYER;
use wiremock::matchers::{body_json, body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{order_placed, spawn_full, spawn_with, test_settings};

fn url(server: &MockServer) -> url::Url {
    format!("{}/", server.uri()).parse().unwrap()
}

#[tokio::test]
async fn sendgrid_gets_the_documented_mail_send_request_with_one_click_unsubscribe() {
    let sendgrid = MockServer::start().await;
    let mut settings = test_settings();
    settings.email = EmailProvider::Sendgrid {
        api_key: "SG.test-key".to_owned().into(),
        from: "orders@craftchain.example".into(),
        from_name: Some("CraftChain".into()),
        base_url: url(&sendgrid),
    };
    settings.public_url = "https://api.craftchain.example/".parse().unwrap();
    let app = spawn_with(false, settings).await;
    app.set_preferences(BUYER, json!({"email": "anita@example.in"}))
        .await;
    let body = json!({"category": "marketing", "languages": {"en": {"subject": "Sale", "body": "Lamps at {{ price }}"}}});
    app.put_json("/notifications/templates/sale", &body, Some(&app.admin()))
        .await
        .assert_status(StatusCode::OK);
    let id = app
        .send_ok(json!({"user_id": BUYER, "channel": "email", "template": "sale", "data": {"price": "₹499"}}))
        .await;
    let link = app.message(&id).await["unsubscribe_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(link.starts_with("https://api.craftchain.example/notifications/unsubscribe?token="));
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(header("authorization", "Bearer SG.test-key"))
        .and(body_json(json!({
            "personalizations": [{"to": [{"email": "anita@example.in"}]}],
            "from": {"email": "orders@craftchain.example", "name": "CraftChain"},
            "subject": "Sale",
            "content": [{"type": "text/plain", "value": format!("Lamps at ₹499\n\nUnsubscribe: {link}")}],
            "custom_args": {"notification_id": id},
            "headers": {
                "List-Unsubscribe": format!("<{link}>"),
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        })))
        .respond_with(ResponseTemplate::new(202).insert_header("x-message-id", "sg-42"))
        .expect(1)
        .mount(&sendgrid)
        .await;
    // The mock is ready now (it needs the id): serve, with the workers.
    let app = app.restart_served().await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "delivered", "{m}");
    assert_eq!(
        m["attempts"].as_array().unwrap().last().unwrap()["provider_id"],
        "sg-42"
    );
}

#[tokio::test]
async fn sendgrid_throttling_is_retried_and_a_refusal_is_final() {
    let sendgrid = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&sendgrid)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400).set_body_string("{\"errors\":[{\"message\":\"bad to\"}]}"),
        )
        .with_priority(2)
        .mount(&sendgrid)
        .await;
    let mut settings = test_settings();
    settings.email = EmailProvider::Sendgrid {
        api_key: "k".to_owned().into(),
        from: "a@craftchain.example".into(),
        from_name: None,
        base_url: url(&sendgrid),
    };
    let app = spawn_with(true, settings).await;
    app.set_preferences(BUYER, json!({"email": "anita@example.in"}))
        .await;
    let id = app.send_ok(order_placed(BUYER, "email")).await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "failed");
    let outcomes: Vec<_> = m["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].clone())
        .collect();
    assert_eq!(outcomes, [json!("retry"), json!("failed")]);
    assert!(m["reason"].as_str().unwrap().contains("bad to"));
}

#[tokio::test]
async fn twilio_gets_the_documented_form_for_sms_and_whatsapp() {
    let twilio = MockServer::start().await;
    let provider = |from: &str| TwilioProvider::Twilio {
        account_sid: "AC123".into(),
        auth_token: "tok".to_owned().into(),
        from: from.into(),
        base_url: url(&twilio),
    };
    let mut settings = test_settings();
    settings.sms = provider("MG999");
    settings.whatsapp = provider("+14155238886");
    let app = spawn_with(true, settings).await;
    app.set_preferences(BUYER, json!({"phone": "+919876543210", "language": "en"}))
        .await;
    // Basic auth of AC123:tok.
    let auth = "Basic QUMxMjM6dG9r";
    let text =
        "We have received your order o-1 (₹1,200.00). The artisan is told as soon as it is paid.";
    let form = |pairs: &[(&str, &str)]| serde_urlencoded::to_string(pairs).unwrap();
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC123/Messages.json"))
        .and(header("authorization", auth))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(form(&[
            ("To", "+919876543210"),
            ("MessagingServiceSid", "MG999"),
            ("Body", text),
        ])))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"sid": "SM1", "status": "queued"})),
        )
        .expect(1)
        .mount(&twilio)
        .await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC123/Messages.json"))
        .and(header("authorization", auth))
        .and(body_string(form(&[
            ("To", "whatsapp:+919876543210"),
            ("From", "whatsapp:+14155238886"),
            ("Body", text),
        ])))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "SM2"})))
        .expect(1)
        .mount(&twilio)
        .await;
    let sms = app.send_ok(order_placed(BUYER, "sms")).await;
    let wa = app.send_ok(order_placed(BUYER, "whatsapp")).await;
    let m = app.settled(&sms).await;
    assert_eq!(m["status"], "delivered", "{m}");
    assert_eq!(m["attempts"][0]["provider_id"], "SM1");
    let m = app.settled(&wa).await;
    assert_eq!(m["status"], "delivered", "{m}");
    assert_eq!(m["attempts"][0]["provider_id"], "SM2");
}

#[tokio::test]
async fn fcm_gets_a_v1_message_per_device_with_a_token_from_the_metadata_server() {
    let google = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/computeMetadata/v1/instance/service-accounts/default/token",
        ))
        .and(header("metadata-flavor", "Google"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "ya29.t", "expires_in": 3599, "token_type": "Bearer"}),
        ))
        .expect(1)
        .mount(&google)
        .await;
    let message = |token: &str| {
        json!({"message": {
            "token": token,
            "notification": {"title": "Order o-1 received", "body": "We have received your order o-1 (₹1,200.00). The artisan is told as soon as it is paid."},
            "data": {"notification_id": "ID"},
            "android": {"priority": "normal"},
        }})
    };
    let mut settings = test_settings();
    settings.push = PushProvider::Fcm {
        project_id: "craftchain-test".into(),
        base_url: url(&google),
    };
    let app = spawn_full(false, settings, Some(url(&google))).await;
    app.set_preferences(BUYER, json!({"push_tokens": ["dead-device", "phone-1"]}))
        .await;
    // Sent in process (no worker yet): the id goes into the expected body.
    let id = app.send_ok(order_placed(BUYER, "push")).await;
    let with_id = |v: Value| {
        let mut v = v;
        v["message"]["data"]["notification_id"] = json!(id);
        v
    };
    Mock::given(method("POST"))
        .and(path("/v1/projects/craftchain-test/messages:send"))
        .and(header("authorization", "Bearer ya29.t"))
        .and(body_json(with_id(message("dead-device"))))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"error": {"status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}}),
        ))
        .mount(&google)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/projects/craftchain-test/messages:send"))
        .and(header("authorization", "Bearer ya29.t"))
        .and(body_json(with_id(message("phone-1"))))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": "projects/craftchain-test/messages/0:1"})),
        )
        .expect(1)
        .mount(&google)
        .await;
    let app = app.restart_served().await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "delivered", "{m}");
    assert_eq!(
        m["attempts"].as_array().unwrap().last().unwrap()["provider_id"],
        "projects/craftchain-test/messages/0:1"
    );
}

/// A message the SMTP server took: its recipients and raw data.
type Received = (Vec<String>, String);

/// What the SMTP server received.
#[derive(Clone, Default)]
struct Mailbox {
    current: Vec<u8>,
    to: Vec<String>,
    delivered: Arc<Mutex<Vec<Received>>>,
}

impl Handler for Mailbox {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current.clear();
        self.to = to.to_vec();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let text = String::from_utf8_lossy(&self.current).into_owned();
        self.delivered.lock().unwrap().push((self.to.clone(), text));
        mailin_embedded::response::OK
    }
}

#[tokio::test]
async fn smtp_mail_reaches_a_real_smtp_server_with_its_headers() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mailbox = Mailbox::default();
    let delivered = mailbox.delivered.clone();
    let mut server = Server::new(mailbox);
    server
        .with_name("mx.test")
        .with_ssl(SslConfig::None)
        .unwrap()
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });

    let mut settings = test_settings();
    settings.email = EmailProvider::Smtp {
        url: format!("smtp+plain://127.0.0.1:{port}"),
        from: "CraftChain <orders@craftchain.example>".into(),
        username: None,
        password: None,
    };
    let app = spawn_with(true, settings).await;
    app.set_preferences(
        BUYER,
        json!({"email": "anita@example.in", "language": "hi"}),
    )
    .await;
    let body = json!({"category": "marketing", "languages": {"en": {"body": "Sale"}, "hi": {"subject": "दिवाली सेल", "body": "नए दीये आ गए हैं"}}});
    app.put_json("/notifications/templates/sale", &body, Some(&app.admin()))
        .await
        .assert_status(StatusCode::OK);
    let id = app
        .send_ok(json!({"user_id": BUYER, "channel": "email", "template": "sale"}))
        .await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "delivered", "{m}");
    let got = delivered.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (to, raw) = &got[0];
    assert_eq!(to, &["anita@example.in".to_owned()]);
    assert!(
        raw.contains("From: CraftChain <orders@craftchain.example>"),
        "{raw}"
    );
    assert!(
        raw.contains(&format!("Message-ID: <{id}@craftchain.example>")),
        "{raw}"
    );
    assert!(
        raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{raw}"
    );
    assert!(raw.contains("List-Unsubscribe: <http"), "{raw}");
    // The Hindi subject is encoded (RFC 2047) and the body is UTF-8.
    assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
}

#[tokio::test]
async fn a_whatsapp_template_goes_as_twilio_content_with_its_variables() {
    let twilio = MockServer::start().await;
    let mut settings = test_settings();
    settings.whatsapp = TwilioProvider::Twilio {
        account_sid: "AC123".into(),
        auth_token: "tok".to_owned().into(),
        from: "+14155238886".into(),
        base_url: url(&twilio),
    };
    let app = spawn_with(true, settings).await;
    app.set_preferences(BUYER, json!({"phone": "+919876543210"}))
        .await;
    let sid = "HX0123456789abcdef0123456789abcdef";
    let template = json!({"category": "transactional", "languages": {"en": {
        "body": "Order {{ order_id }}: {{ total }}",
        "whatsapp_content_sid": sid,
        "whatsapp_variables": ["order_id", "total"],
    }}});
    app.put_json(
        "/notifications/templates/order_placed",
        &template,
        Some(&app.admin()),
    )
    .await
    .assert_status(StatusCode::OK);
    let variables = json!({"1": "o-1", "2": "₹1,200.00"}).to_string();
    let form = serde_urlencoded::to_string([
        ("To", "whatsapp:+919876543210"),
        ("From", "whatsapp:+14155238886"),
        ("ContentSid", sid),
        ("ContentVariables", variables.as_str()),
    ])
    .unwrap();
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC123/Messages.json"))
        .and(body_string(form))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "SM3"})))
        .expect(1)
        .mount(&twilio)
        .await;
    let id = app.send_ok(order_placed(BUYER, "whatsapp")).await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "delivered", "{m}");
    // A bad content id is refused when the template is stored.
    let bad = json!({"category": "transactional", "languages": {"en": {"body": "x", "whatsapp_content_sid": "HX12"}}});
    app.put_json(
        "/notifications/templates/order_placed",
        &bad,
        Some(&app.admin()),
    )
    .await
    .assert_invalid_fields(&["languages.en.whatsapp_content_sid"]);
}
