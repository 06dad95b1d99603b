//! Preferences: opt-outs, quiet hours, unsubscribe links.

use http::StatusCode;
use serde_json::{Value, json};
use testkit::users::{ARTISAN, BUYER};

use crate::helpers::{order_placed, spawn};

/// Store a marketing template as an admin.
async fn marketing_template(app: &crate::helpers::TestApp) {
    let body = json!({
        "category": "marketing",
        "languages": {"en": {"subject": "Diwali picks", "body": "Hello {{ name }}, new Diwali lamps are here."}},
    });
    app.put_json("/notifications/templates/diwali", &body, Some(&app.admin()))
        .await
        .assert_status(StatusCode::OK);
}

fn diwali(user: &str, channel: &str) -> Value {
    json!({"user_id": user, "channel": channel, "template": "diwali", "data": {"name": "Anita"}})
}

#[tokio::test]
async fn an_opt_out_skips_marketing_but_not_transactional_messages() {
    let app = spawn().await;
    marketing_template(&app).await;
    app.set_preferences(
        BUYER,
        json!({"email": "anita@example.in", "channels": {"email": {"transactional": true, "marketing": false}}}),
    )
    .await;
    let r = app.send(diwali(BUYER, "email")).await;
    r.assert_status(StatusCode::ACCEPTED);
    let accepted: Value = r.json();
    assert_eq!(accepted["status"], "skipped");
    assert_eq!(accepted["reason"], "opted_out");
    // Transactional email is still sent. The worker may take it at once, so
    // the 202 tells it was queued and its settled state that it went out.
    let r = app.send(order_placed(BUYER, "email")).await;
    r.assert_status(StatusCode::ACCEPTED);
    let accepted: Value = r.json();
    assert_eq!(accepted["status"], "queued", "{accepted}");
    let m = app.settled(accepted["id"].as_str().unwrap()).await;
    assert_eq!(m["status"], "delivered", "{m}");
    // SMS marketing needs consent: off by default.
    let r = app.send(diwali(ARTISAN, "sms")).await;
    assert_eq!(r.json::<Value>()["status"], "skipped");
    // Preferences show every channel.
    let p = app
        .get(
            &format!("/notifications/preferences/{BUYER}"),
            Some(&app.buyer()),
        )
        .await;
    let p: Value = p.json();
    assert_eq!(p["channels"]["email"]["marketing"], false);
    assert_eq!(p["channels"]["push"]["marketing"], true);
    assert_eq!(p["time_zone"], "Asia/Kolkata");
    app.get(
        &format!("/notifications/preferences/{BUYER}"),
        Some(&app.artisan()),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn quiet_hours_hold_interrupting_messages_until_they_end_unless_urgent() {
    let app = spawn().await;
    // Quiet all day but one minute, in the user's zone.
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo);
    let end = (now + chrono::Duration::minutes(2))
        .format("%H:%M")
        .to_string();
    let start = (now - chrono::Duration::minutes(2))
        .format("%H:%M")
        .to_string();
    app.set_preferences(
        BUYER,
        json!({"time_zone": "Asia/Tokyo", "quiet_hours": {"start": start, "end": end}, "phone": "+919876543210"}),
    )
    .await;
    let r = app.send(order_placed(BUYER, "sms")).await;
    let a: Value = r.json();
    assert_eq!(a["status"], "queued");
    assert_eq!(a["reason"], "quiet_hours");
    let at: chrono::DateTime<chrono::Utc> = a["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert!(
        at > chrono::Utc::now() + chrono::Duration::seconds(30),
        "{at}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        app.message(a["id"].as_str().unwrap()).await["status"],
        "queued"
    );
    // In-app is silent: not held. Urgent: not held.
    let id = app.send_ok(order_placed(BUYER, "in_app")).await;
    assert_eq!(app.settled(&id).await["status"], "delivered");
    let mut urgent = order_placed(BUYER, "sms");
    urgent["priority"] = json!("urgent");
    let id = app.send_ok(urgent).await;
    let m = app.settled(&id).await;
    assert_eq!(m["status"], "delivered", "{m}");
}

#[tokio::test]
async fn bad_preferences_are_refused_by_field() {
    let app = spawn().await;
    let r = app
        .put_json(
            &format!("/notifications/preferences/{BUYER}"),
            &json!({
                "language": "fr", "time_zone": "Mars/Olympus", "phone": "98765",
                "email": "nope", "quiet_hours": {"start": "25:00", "end": "7"},
            }),
            Some(&app.buyer()),
        )
        .await;
    r.assert_invalid_fields(&[
        "email",
        "language",
        "phone",
        "quiet_hours.end",
        "quiet_hours.start",
        "time_zone",
    ]);
    app.put_json(
        &format!("/notifications/preferences/{BUYER}"),
        &json!({}),
        Some(&app.artisan()),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let tokens: Vec<String> = (0..6).map(|i| format!("t{i}")).collect();
    app.put_json(
        &format!("/notifications/preferences/{BUYER}"),
        &json!({"push_tokens": tokens}),
        Some(&app.buyer()),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_marketing_message_carries_a_link_that_unsubscribes_without_logging_in() {
    let app = spawn().await;
    marketing_template(&app).await;
    app.set_preferences(BUYER, json!({"email": "anita@example.in"}))
        .await;
    let id = app.send_ok(diwali(BUYER, "email")).await;
    let m = app.settled(&id).await;
    let link = m["unsubscribe_url"].as_str().unwrap().to_owned();
    assert!(
        m["body"]
            .as_str()
            .unwrap()
            .ends_with(&format!("Unsubscribe: {link}"))
    );
    let path = link
        .split_once("/notifications/")
        .map(|(_, p)| format!("/notifications/{p}"))
        .unwrap();
    // Opening the link changes nothing; its button (a POST) does.
    let page = app.get(&path, None).await;
    page.assert_status(StatusCode::OK);
    assert!(page.text().contains("<form method=\"post\""));
    let p = app
        .get(
            &format!("/notifications/preferences/{BUYER}"),
            Some(&app.buyer()),
        )
        .await;
    assert_eq!(p.json::<Value>()["channels"]["email"]["marketing"], true);
    let done = app
        .post_raw(
            &path,
            "List-Unsubscribe=One-Click",
            Some("application/x-www-form-urlencoded"),
            None,
        )
        .await;
    done.assert_status(StatusCode::OK);
    let p = app
        .get(
            &format!("/notifications/preferences/{BUYER}"),
            Some(&app.buyer()),
        )
        .await;
    let p: Value = p.json();
    for channel in ["email", "push", "in_app", "sms", "whatsapp", "webhook"] {
        assert_eq!(p["channels"][channel]["marketing"], false, "{channel}");
    }
    assert_eq!(p["channels"]["email"]["transactional"], true);
    assert_eq!(
        app.send(diwali(BUYER, "email")).await.json::<Value>()["status"],
        "skipped"
    );
    // A forged or altered token does nothing.
    let forged = format!("{}x", path);
    app.post_raw(&forged, "", None, None)
        .await
        .assert_invalid_fields(&["token"]);
}

#[tokio::test]
async fn a_queued_message_is_not_sent_if_its_user_opts_out_or_goes_quiet_before_it_is_due() {
    // In process: nothing is sent yet.
    let app = crate::helpers::spawn_with(false, crate::helpers::test_settings()).await;
    marketing_template(&app).await;
    app.set_preferences(
        BUYER,
        json!({"email": "anita@example.in", "phone": "+919876543210"}),
    )
    .await;
    let marketing = app.send_ok(diwali(BUYER, "email")).await;
    let sms = app.send_ok(order_placed(BUYER, "sms")).await;
    assert_eq!(app.message(&marketing).await["status"], "queued");
    // Then the user opts out of marketing email and starts quiet hours.
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Kolkata);
    let start = (now - chrono::Duration::minutes(5))
        .format("%H:%M")
        .to_string();
    let end = (now + chrono::Duration::minutes(5))
        .format("%H:%M")
        .to_string();
    app.set_preferences(
        BUYER,
        json!({
            "email": "anita@example.in", "phone": "+919876543210",
            "channels": {"email": {"transactional": true, "marketing": false}},
            "quiet_hours": {"start": start, "end": end},
        }),
    )
    .await;
    let app = app.restart_served().await;
    let m = app.settled(&marketing).await;
    assert_eq!(m["status"], "skipped");
    assert_eq!(m["reason"], "opted_out");
    assert!(m["attempts"].as_array().unwrap().is_empty());
    // The SMS waits for the quiet hours' end, not counted as an attempt.
    let mut waiting = Value::Null;
    for _ in 0..400 {
        waiting = app.message(&sms).await;
        if waiting["reason"] == "quiet_hours" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(waiting["status"], "queued", "{waiting}");
    assert_eq!(waiting["reason"], "quiet_hours");
    assert!(waiting["attempts"].as_array().unwrap().is_empty());
    let at: chrono::DateTime<chrono::Utc> = waiting["next_attempt_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        at > chrono::Utc::now() + chrono::Duration::minutes(3),
        "{at}"
    );
}

#[tokio::test]
async fn preferences_carry_an_etag_and_a_stale_if_match_changes_nothing() {
    let app = spawn().await;
    let path = format!("/notifications/preferences/{BUYER}");
    let read = app.get(&path, Some(&app.buyer())).await;
    assert_eq!(read.header("etag"), Some("\"0\""));
    let put = |prefs: Value, etag: &str| {
        let (app, path) = (&app, &path);
        let etag = etag.to_owned();
        async move {
            let token = app.buyer();
            let if_match = [("if-match", etag.as_str())];
            app.json_with(http::Method::PUT, path, &prefs, Some(&token), &if_match)
                .await
        }
    };
    let first = put(json!({"language": "hi"}), "\"0\"").await;
    first.assert_status(StatusCode::OK);
    let etag = first.header("etag").unwrap().to_owned();
    // Another device, with the first read's ETag: refused.
    put(json!({"language": "ta"}), "\"0\"")
        .await
        .assert_problem(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    put(json!({"language": "bn"}), &etag)
        .await
        .assert_status(StatusCode::OK);
    let now: Value = app.get(&path, Some(&app.buyer())).await.json();
    assert_eq!(now["language"], "bn");
}
