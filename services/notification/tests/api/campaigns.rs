//! Campaigns: an audience from the directory, each user in their language,
//! opted-out users skipped, sending throttled, counts kept.

use http::StatusCode;
use notification::domain::campaigns::Contact;
use serde_json::{Value, json};

use crate::helpers::{spawn_with, test_settings};

/// The campaign `id` once its status is `status` (an admin's view).
async fn campaign_until(app: &crate::helpers::TestApp, id: &str, status: &str) -> Value {
    let mut view = Value::Null;
    for _ in 0..400 {
        view = app
            .get(
                &format!("/notifications/campaigns/{id}"),
                Some(&app.admin()),
            )
            .await
            .json();
        if view["status"] == status {
            return view;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("campaign {id} never became {status}: {view}");
}

fn contact(id: &str, role: &str, languages: &[&str]) -> Contact {
    Contact {
        id: id.into(),
        email: format!("{id}@example.in"),
        display_name: format!("Name of {id}"),
        role: role.into(),
        region: Some("Odisha".into()),
        languages: languages.iter().map(|l| (*l).to_owned()).collect(),
        craft: Some("pattachitra".into()),
    }
}

#[tokio::test]
async fn a_campaign_reaches_its_audience_in_their_languages_skipping_opt_outs_throttled() {
    let mut settings = test_settings();
    settings.campaign_rate_per_sec = 4;
    let app = spawn_with(true, settings).await;
    *app.directory.contacts.lock().unwrap() = vec![
        contact("u-hi", "artisan", &["hi"]),
        contact("u-bn", "artisan", &["bn"]),
        contact("u-out", "artisan", &["en"]),
        contact("u-en", "artisan", &["en"]),
        contact("u-ta", "artisan", &["ta"]),
    ];
    app.set_preferences(
        "u-out",
        json!({"channels": {"email": {"transactional": true, "marketing": false}}}),
    )
    .await;
    let template = json!({"category": "marketing", "languages": {
        "en": {"subject": "Diwali fair", "body": "Hello {{ name }}, the {{ fair }} opens soon."},
        "hi": {"subject": "दिवाली मेला", "body": "नमस्ते {{ name }}, {{ fair }} जल्द खुल रहा है।"},
    }});
    app.put_json(
        "/notifications/templates/diwali_fair",
        &template,
        Some(&app.admin()),
    )
    .await
    .assert_status(StatusCode::OK);
    let body = json!({
        "name": "Diwali 2026", "template": "diwali_fair", "channel": "email",
        "data": {"fair": "Dilli Haat fair"},
        "targeting": {"roles": ["artisan"], "regions": ["Odisha", "West Bengal"], "crafts": ["pattachitra"]},
    });
    let r = app
        .post_json("/notifications/campaigns", &body, Some(&app.admin()))
        .await;
    r.assert_status(StatusCode::ACCEPTED);
    let id = r.json::<Value>()["id"].as_str().unwrap().to_owned();

    let view = campaign_until(&app, &id, "completed").await;
    assert_eq!(
        view["counts"],
        json!({"audience": 5, "queued": 4, "skipped": 1, "delivered": 4, "failed": 0})
    );
    assert_eq!(
        app.directory.asked.lock().unwrap()[0],
        "/auth/users?roles=artisan&regions=Odisha%2CWest+Bengal&crafts=pattachitra&limit=100"
    );

    let message = |user: &str| {
        let app = &app;
        let user = user.to_owned();
        async move {
            let r = app
                .get(
                    &format!("/notifications?user_id={user}"),
                    Some(&app.admin()),
                )
                .await;
            r.json::<Value>()["items"][0].clone()
        }
    };
    let hi = message("u-hi").await;
    assert_eq!(
        hi["body"].as_str().unwrap().lines().next().unwrap(),
        "नमस्ते Name of u-hi, Dilli Haat fair जल्द खुल रहा है।"
    );
    assert!(
        hi["unsubscribe_url"]
            .as_str()
            .unwrap()
            .contains("/notifications/unsubscribe?token=")
    );
    let bn = message("u-bn").await;
    assert_eq!(bn["language"], "en");
    assert_eq!(message("u-out").await["status"], "skipped");
    // Four messages at four a second: the last no sooner than 0.75 s in.
    let mut times: Vec<chrono::DateTime<chrono::Utc>> = Vec::new();
    for user in ["u-hi", "u-bn", "u-en", "u-ta"] {
        let m = message(user).await;
        assert_eq!(m["status"], "delivered");
        times.push(m["delivered_at"].as_str().unwrap().parse().unwrap());
    }
    times.sort();
    let started: chrono::DateTime<chrono::Utc> =
        view["created_at"].as_str().unwrap().parse().unwrap();
    assert!(
        times[3] - started >= chrono::Duration::milliseconds(750),
        "{started} {times:?}"
    );
}

#[tokio::test]
async fn a_campaign_is_checked_before_it_starts() {
    let app = spawn_with(false, test_settings()).await;
    let marketing = json!({"category": "marketing", "languages": {"en": {"body": "{{ offer }} for {{ name }}"}}});
    app.put_json(
        "/notifications/templates/offer",
        &marketing,
        Some(&app.admin()),
    )
    .await
    .assert_status(StatusCode::OK);
    let post = |body: Value| {
        let app = &app;
        async move {
            app.post_json("/notifications/campaigns", &body, Some(&app.admin()))
                .await
        }
    };
    post(json!({"name": "x", "template": "offer", "channel": "email"}))
        .await
        .assert_invalid_fields(&["data.offer"]);
    post(json!({"name": "x", "template": "order_placed", "channel": "email"}))
        .await
        .assert_invalid_fields(&["template"]);
    post(json!({
        "name": "", "template": "offer", "channel": "webhook", "data": {"offer": "10%"},
        "targeting": {"roles": ["admin"], "languages": ["fr"]},
        "send_at": "2030-01-01T00:00:00Z", "local_time": "9am",
    }))
    .await
    .assert_invalid_fields(&[
        "channel",
        "local_time",
        "name",
        "send_at",
        "targeting.languages[0]",
        "targeting.roles[0]",
    ]);
    let ok =
        json!({"name": "x", "template": "offer", "channel": "in_app", "data": {"offer": "10%"}});
    app.post_json("/notifications/campaigns", &ok, Some(&app.artisan()))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = post(ok).await;
    r.assert_status(StatusCode::ACCEPTED);
    assert_eq!(r.json::<Value>()["status"], "scheduled");
}

#[tokio::test]
async fn a_repeated_campaign_request_is_the_same_campaign() {
    let app = spawn_with(false, test_settings()).await;
    let template = json!({"category": "marketing", "languages": {"en": {"body": "Hi {{ name }}"}}});
    app.put_json(
        "/notifications/templates/hello",
        &template,
        Some(&app.admin()),
    )
    .await
    .assert_status(StatusCode::OK);
    let post = |body: Value| {
        let app = &app;
        async move {
            let key = [("idempotency-key", "diwali-1")];
            let path = "/notifications/campaigns";
            app.json_with(http::Method::POST, path, &body, Some(&app.admin()), &key)
                .await
        }
    };
    let body = json!({"name": "Hello", "template": "hello", "channel": "in_app"});
    let first = post(body.clone()).await;
    first.assert_status(StatusCode::ACCEPTED);
    let again = post(body).await;
    again.assert_status(StatusCode::OK);
    assert_eq!(first.json::<Value>()["id"], again.json::<Value>()["id"]);
    post(json!({"name": "Other", "template": "hello", "channel": "in_app"}))
        .await
        .assert_invalid_fields(&["Idempotency-Key"]);
}

#[tokio::test]
async fn a_campaign_whose_template_stops_rendering_fails_saying_why() {
    // In process: the campaign cannot run before the new version is stored.
    let app = spawn_with(false, test_settings()).await;
    *app.directory.contacts.lock().unwrap() = vec![contact("u-1", "buyer", &["en"])];
    let v1 = json!({"category": "marketing", "languages": {"en": {"body": "Hi {{ name }}"}}});
    app.put_json("/notifications/templates/hello", &v1, Some(&app.admin()))
        .await
        .assert_status(StatusCode::OK);
    // Accepted against v1; before it runs, a version needing more is stored.
    let body = json!({"name": "Hello", "template": "hello", "channel": "in_app"});
    let r = app
        .post_json("/notifications/campaigns", &body, Some(&app.admin()))
        .await;
    r.assert_status(StatusCode::ACCEPTED);
    let id = r.json::<Value>()["id"].as_str().unwrap().to_owned();
    let v2 = json!({"category": "marketing", "languages": {"en": {"body": "Hi {{ name }}, {{ offer }}"}}});
    app.put_json("/notifications/templates/hello", &v2, Some(&app.admin()))
        .await
        .assert_status(StatusCode::OK);
    let app = app.restart_served().await;
    let view = campaign_until(&app, &id, "failed").await;
    assert!(view["error"].as_str().unwrap().contains("offer"), "{view}");
}
