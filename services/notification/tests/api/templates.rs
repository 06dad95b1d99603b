//! Templates: versioned, per language, checked when stored.

use http::StatusCode;
use serde_json::{Value, json};
use testkit::users::BUYER;

use crate::helpers::{order_placed, spawn};

#[tokio::test]
async fn a_stored_version_replaces_the_builtin_and_versions_count_up() {
    let app = spawn().await;
    let list = app
        .get("/notifications/templates", Some(&app.admin()))
        .await;
    let items = list.json::<Value>()["items"].as_array().unwrap().clone();
    let placed = items.iter().find(|t| t["name"] == "order_placed").unwrap();
    assert_eq!(placed["builtin"], true);
    assert_eq!(placed["latest"]["version"], 0);
    assert_eq!(placed["latest"]["languages"].as_object().unwrap().len(), 6);

    let body = json!({
        "category": "transactional",
        "dlt_entity_id": "1101456789012345678",
        "languages": {
            "en": {"subject": "Order {{ order_id }}", "body": "Thanks! Order {{ order_id }}: {{ total }}.",
                   "short": "Order {{ order_id }} ok", "dlt_template_id": "1107161234567890123"},
            "ta": {"body": "ஆர்டர் {{ order_id }} பெறப்பட்டது."},
        },
    });
    let r = app
        .put_json(
            "/notifications/templates/order_placed",
            &body,
            Some(&app.admin()),
        )
        .await;
    r.assert_status(StatusCode::OK);
    let v: Value = r.json();
    assert_eq!(v["latest"]["version"], 1);
    assert_eq!(v["builtin"], false);
    let r = app
        .put_json(
            "/notifications/templates/order_placed",
            &body,
            Some(&app.admin()),
        )
        .await;
    assert_eq!(r.json::<Value>()["versions"], json!([1, 2]));

    app.set_preferences(BUYER, json!({"language": "ta", "phone": "+919876543210"}))
        .await;
    let id = app.send_ok(order_placed(BUYER, "in_app")).await;
    let m = app.settled(&id).await;
    assert_eq!(m["body"], "ஆர்டர் o-1 பெறப்பட்டது.");
    assert_eq!(m["template_version"], 2);
    // SMS takes the language's short text.
    app.set_preferences(BUYER, json!({"language": "en", "phone": "+919876543210"}))
        .await;
    let id = app.send_ok(order_placed(BUYER, "sms")).await;
    assert_eq!(app.settled(&id).await["body"], "Order o-1 ok");
}

#[tokio::test]
async fn a_bad_template_is_refused_by_field_and_only_admins_store_them() {
    let app = spawn().await;
    let body = json!({
        "category": "marketing",
        "languages": {
            "hi": {"body": "{% if %}"},
            "fr": {"body": "Bonjour"},
            "ta": {"body": ""},
        },
    });
    let r = app
        .put_json("/notifications/templates/sale", &body, Some(&app.admin()))
        .await;
    r.assert_invalid_fields(&[
        "languages.en",
        "languages.fr",
        "languages.hi.body",
        "languages.ta.body",
    ]);
    let ok = json!({"category": "marketing", "languages": {"en": {"body": "Sale!"}}});
    app.put_json("/notifications/templates/sale", &ok, Some(&app.artisan()))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.put_json("/notifications/templates/Sale-1", &ok, Some(&app.admin()))
        .await
        .assert_invalid_fields(&["name"]);
    app.get("/notifications/templates/sale", Some(&app.admin()))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
}
