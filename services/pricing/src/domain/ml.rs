//! The ML service's price prediction: the trait the calculation asks, and
//! its HTTP implementation (`POST /ml/predict-price`; the tests bring
//! fakes and a wiremock server).

use async_trait::async_trait;
use common::{CallOptions, ClientError, Money, ServiceClient};
use serde::{Deserialize, Serialize};

use super::quote::MlEvidence;

/// `POST /ml/predict-price`: what is known of the piece.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictPrice {
    pub product_id: String,
    pub category: String,
    pub subcategory: String,
    pub region: Option<String>,
    pub materials: Vec<String>,
    pub production_time_days: Option<u32>,
    pub labor_hours: f64,
    pub artisan_skill_level: u8,
}

/// Its answer, as far as pricing reads it: a point prediction inside its
/// interval when `status` is `predicted`; otherwise the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predicted {
    pub status: String,
    pub price: Option<Money>,
    pub low: Option<Money>,
    pub high: Option<Money>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl Predicted {
    /// A prediction of `price` within `low` … `high`.
    pub fn new(price: Money, low: Money, high: Money) -> Self {
        Self {
            status: "predicted".into(),
            price: Some(price),
            low: Some(low),
            high: Some(high),
            reason: None,
        }
    }
}

#[async_trait]
pub trait PricePredictor: Send + Sync + 'static {
    async fn predict(&self, request: &PredictPrice) -> Result<Predicted, ClientError>;
}

/// Ask `predictor`, and say why when there is no usable prediction.
pub async fn evidence(predictor: &dyn PricePredictor, request: &PredictPrice) -> MlEvidence {
    match predictor.predict(request).await {
        Ok(p) if p.status != "predicted" => MlEvidence::Unavailable(format!(
            "the ML service made no prediction: {}",
            p.reason.as_deref().unwrap_or(&p.status)
        )),
        Ok(Predicted {
            price: Some(price),
            low: Some(low),
            high: Some(high),
            ..
        }) if consistent(price, low, high) => MlEvidence::Predicted { price, low, high },
        Ok(_) => MlEvidence::Unavailable(
            "the ML service's prediction was inconsistent (a price outside its interval, or \
             not in INR)"
                .into(),
        ),
        Err(e) => MlEvidence::Unavailable(format!("the ML service did not answer: {e}")),
    }
}

fn consistent(price: Money, low: Money, high: Money) -> bool {
    let inr = |m: Money| m.currency == common::Currency::INR && m.amount > 0;
    inr(price) && inr(low) && inr(high) && low.amount <= price.amount && price.amount <= high.amount
}

/// Over HTTP, with the service's own token.
pub struct HttpPricePredictor(pub ServiceClient);

#[async_trait]
impl PricePredictor for HttpPricePredictor {
    async fn predict(&self, request: &PredictPrice) -> Result<Predicted, ClientError> {
        self.0
            .post_json("/ml/predict-price", request, &CallOptions::default())
            .await
    }
}
