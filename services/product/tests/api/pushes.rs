//! Events in: what `/events/push` does with the events the service
//! consumes (analysis, prices, payouts), once per event, and only from the
//! `service` role.

use std::time::Duration;

use common::identity::Role;
use events::PushOutcome;
use events::v1::{AnalysisCompleted, Money, PaymentExecuted, PriceSuggested};
use http::StatusCode;
use product::domain::products::{Pending, ProductView};
use product::routes::orders::OrderView;
use serde_json::json;

use crate::events::inr;
use crate::helpers::{TestApp, order_body};

fn new_event_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn service(app: &TestApp) -> String {
    app.token("pipeline", Role::Service)
}

#[tokio::test]
async fn an_analysis_fills_ai_and_adds_translations_without_overwriting_the_artisans() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let analysis = AnalysisCompleted {
        product_id: product.id.clone(),
        tags: vec!["kantha".into(), "stole".into()],
        quality_grade: "A".into(),
        translated_description: [
            ("hi".to_owned(), "मशीन अनुवाद".to_owned()),
            ("bn".to_owned(), "কাঁথা স্টোল".to_owned()),
            ("fr".to_owned(), "Étole kantha".to_owned()),
        ]
        .into(),
        dominant_colors: vec!["indigo".into()],
    };

    let response = app
        .push_as(&service(&app), &new_event_id(), &product.id, &analysis)
        .await;

    response.assert_status(StatusCode::OK);
    assert_eq!(response.json::<PushOutcome>().outcome, "applied");
    let now: ProductView = app.product(&product.id).await.json();
    assert_eq!(now.ai.status, Pending::Ready);
    assert_eq!(now.ai.tags, ["kantha", "stole"]);
    assert_eq!(now.ai.quality_grade.as_deref(), Some("A"));
    assert_eq!(now.ai.dominant_colors, ["indigo"]);
    assert_eq!(
        now.description.get("hi"),
        product.description.get("hi"),
        "the artisan's words stay"
    );
    assert!(
        !now.description.contains_key("bn"),
        "the artisan's own only"
    );
    assert_eq!(
        now.ai.translations.get("bn").map(String::as_str),
        Some("কাঁথা স্টোল")
    );
    assert!(
        !now.ai.translations.contains_key("hi"),
        "no translation of what the artisan wrote"
    );
    assert!(
        !now.ai.translations.contains_key("fr"),
        "only catalogue languages"
    );
    assert_eq!(now.suggested_price.status, Pending::Pending);
}

#[tokio::test]
async fn a_price_suggestion_fills_suggested_price() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let suggestion = PriceSuggested {
        product_id: product.id.clone(),
        suggested: inr(229_900),
        low: inr(199_900),
        high: inr(279_900),
        method: "comparables".into(),
    };

    let response = app
        .push_as(&service(&app), &new_event_id(), &product.id, &suggestion)
        .await;

    response.assert_status(StatusCode::OK);
    let price = app
        .product(&product.id)
        .await
        .json::<ProductView>()
        .suggested_price;
    assert_eq!(price.status, Pending::Ready);
    assert_eq!(price.suggested.map(|m| m.amount), Some(229_900));
    assert_eq!(price.low.map(|m| m.amount), Some(199_900));
    assert_eq!(price.high.map(|m| m.amount), Some(279_900));
    assert_eq!(price.method.as_deref(), Some("comparables"));
}

#[tokio::test]
async fn a_suggestion_in_an_unknown_currency_is_rejected_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let etag = app.product(&product.id).await.etag();
    let suggestion = PriceSuggested {
        product_id: product.id.clone(),
        suggested: Some(Money {
            amount: 100,
            currency: "XXX".into(),
        }),
        ..Default::default()
    };

    let response = app
        .push_as(&service(&app), &new_event_id(), &product.id, &suggestion)
        .await;

    response.assert_problem(StatusCode::BAD_REQUEST, "event_rejected");
    assert_eq!(app.product(&product.id).await.etag(), etag);
}

#[tokio::test]
async fn a_payment_records_the_payout_on_the_order() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let order: OrderView = app
        .place_order(&app.buyer(), &order_body(&product.id, 1), Some("order-1"))
        .await
        .json();
    let payment = PaymentExecuted {
        order_id: order.id.clone(),
        tx_hash: "0xabc123".into(),
        amount: inr(249_900),
        artisan_share: inr(224_910),
        ..Default::default()
    };

    app.push_as(&service(&app), &new_event_id(), &order.id, &payment)
        .await
        .assert_status(StatusCode::OK);

    let read: OrderView = app
        .get(&format!("/orders/{}", order.id), Some(&app.buyer()))
        .await
        .json();
    let payout = read.order.payout.expect("a payout");
    assert_eq!(payout.tx_hash, "0xabc123");
    assert_eq!(payout.amount.map(|m| m.amount), Some(249_900));
    assert_eq!(payout.artisan_share.map(|m| m.amount), Some(224_910));
}

#[tokio::test]
async fn a_repeated_push_is_a_duplicate_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let event_id = new_event_id();
    let analysis = AnalysisCompleted {
        product_id: product.id.clone(),
        tags: vec!["first".into()],
        ..Default::default()
    };
    app.push_as(&service(&app), &event_id, &product.id, &analysis)
        .await
        .assert_status(StatusCode::OK);
    let etag = app.product(&product.id).await.etag();

    let repeat = app
        .push_as(&service(&app), &event_id, &product.id, &analysis)
        .await;
    let altered = AnalysisCompleted {
        tags: vec!["second".into()],
        ..analysis
    };
    let same_id = app
        .push_as(&service(&app), &event_id, &product.id, &altered)
        .await;

    for response in [repeat, same_id] {
        response.assert_status(StatusCode::OK);
        let outcome: PushOutcome = response.json();
        assert_eq!(
            (outcome.event_id.as_str(), outcome.outcome.as_str()),
            (event_id.as_str(), "duplicate")
        );
    }
    let now = app.product(&product.id).await;
    assert_eq!(now.etag(), etag);
    assert_eq!(now.json::<ProductView>().ai.tags, ["first"]);
}

#[tokio::test]
async fn only_the_service_role_may_push() {
    let app = TestApp::spawn().await;
    let product = app.create_product(&app.artisan(), json!({})).await;
    let analysis = AnalysisCompleted {
        product_id: product.id.clone(),
        ..Default::default()
    };

    let as_buyer = app
        .push_as(&app.buyer(), &new_event_id(), &product.id, &analysis)
        .await;
    let as_admin = app
        .push_as(&app.admin(), &new_event_id(), &product.id, &analysis)
        .await;
    let anonymous = app.post_json("/events/push", &json!({}), None).await;

    as_buyer.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    as_admin.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    anonymous.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(
        app.product(&product.id)
            .await
            .json::<ProductView>()
            .ai
            .status,
        Pending::Pending
    );
}

#[tokio::test]
async fn a_push_that_is_not_an_envelope_is_422() {
    let app = TestApp::spawn().await;

    for data in ["not base64!", "AAAA"] {
        let body = json!({"message": {"data": data, "messageId": "m1"}, "subscription": "s"});

        let response = app
            .post_json("/events/push", &body, Some(&service(&app)))
            .await;

        response.assert_invalid_fields(&["message.data"]);
    }
}

#[tokio::test]
async fn translations_arriving_by_event_become_searchable_once_the_index_syncs() {
    let app = TestApp::serve().await;
    let product = app
        .create_product(
            &app.artisan(),
            json!({"description": {"en": "A brass owl cast by the lost wax method."}}),
        )
        .await;
    let analysis = AnalysisCompleted {
        product_id: product.id.clone(),
        translated_description: [("hi".to_owned(), "ढोकरा पीतल का उल्लू".to_owned())].into(),
        ..Default::default()
    };

    app.push_as(&service(&app), &new_event_id(), &product.id, &analysis)
        .await
        .assert_status(StatusCode::OK);

    testkit::eventually(
        Duration::from_secs(10),
        "the translation to be indexed",
        || async {
            let found = app.search(&json!({"query": "ढोकरा"})).await;
            (found.body["items"][0]["product"]["id"] == product.id.as_str()).then_some(())
        },
    )
    .await
    .unwrap();
}
