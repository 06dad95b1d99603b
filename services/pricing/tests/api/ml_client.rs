//! The HTTP client of `POST /ml/predict-price` against a wiremock server
//! checking the exact request.

use common::{Money, ServiceClient};
use pricing::domain::ml::{self, HttpPricePredictor, PredictPrice};
use pricing::domain::quote::MlEvidence;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn request() -> PredictPrice {
    PredictPrice {
        product_id: "p1".into(),
        category: "pottery".into(),
        subcategory: "vases".into(),
        region: Some("Jaipur, Rajasthan".into()),
        materials: vec!["clay".into()],
        production_time_days: Some(3),
        labor_hours: 10.5,
        artisan_skill_level: 4,
    }
}

/// The service's own token, as the auth service would issue it.
struct ServiceToken;

#[async_trait::async_trait]
impl common::tokens::TokenProvider for ServiceToken {
    async fn token(&self, audience: &str) -> Result<String, common::tokens::TokenError> {
        Ok(format!("token-for-{audience}"))
    }
}

fn client(server: &MockServer) -> HttpPricePredictor {
    let provider: std::sync::Arc<dyn common::tokens::TokenProvider> =
        std::sync::Arc::new(ServiceToken);
    HttpPricePredictor(
        ServiceClient::new("ml", server.uri().parse().unwrap(), Some(provider))
            .tuned(std::time::Duration::from_millis(500), 0),
    )
}

#[tokio::test]
async fn a_prediction_is_asked_with_the_pieces_facts_and_used() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ml/predict-price"))
        .and(header(
            "authorization",
            format!("Bearer token-for-{}", server.uri()),
        ))
        .and(body_json(json!({
            "product_id": "p1", "category": "pottery", "subcategory": "vases",
            "region": "Jaipur, Rajasthan", "materials": ["clay"],
            "production_time_days": 3, "labor_hours": 10.5, "artisan_skill_level": 4
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "predicted",
            "price": {"amount": 250_000, "currency": "INR"},
            "low": {"amount": 200_000, "currency": "INR"},
            "high": {"amount": 320_000, "currency": "INR"},
            "comparables": 40, "nearest": [], "reason": null
        })))
        .expect(1)
        .mount(&server)
        .await;
    let e = ml::evidence(&client(&server), &request()).await;
    assert_eq!(
        e,
        MlEvidence::Predicted {
            price: Money::inr(250_000),
            low: Money::inr(200_000),
            high: Money::inr(320_000)
        }
    );
}

#[tokio::test]
async fn an_absent_busy_or_inconsistent_ml_service_is_said_to_be_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let MlEvidence::Unavailable(why) = ml::evidence(&client(&server), &request()).await else {
        panic!("a 503 is no prediction");
    };
    assert!(why.contains("did not answer"), "{why}");
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "predicted",
            "price": {"amount": 500_000, "currency": "INR"},
            "low": {"amount": 200_000, "currency": "INR"},
            "high": {"amount": 320_000, "currency": "INR"}
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let MlEvidence::Unavailable(why) = ml::evidence(&client(&server), &request()).await else {
        panic!("a price outside its interval is not used");
    };
    assert!(why.contains("inconsistent"), "{why}");
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "insufficient_data", "price": null, "low": null, "high": null,
            "comparables": 3, "nearest": [],
            "reason": "3 comparable listings in pottery; 5 needed"
        })))
        .mount(&server)
        .await;
    let MlEvidence::Unavailable(why) = ml::evidence(&client(&server), &request()).await else {
        panic!("thin data is no prediction");
    };
    assert!(why.contains("3 comparable listings"), "{why}");
}
