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

/// Its answer: a point prediction inside its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predicted {
    pub price: Money,
    pub low: Money,
    pub high: Money,
}

#[async_trait]
pub trait PricePredictor: Send + Sync + 'static {
    async fn predict(&self, request: &PredictPrice) -> Result<Predicted, ClientError>;
}

/// Ask `predictor`, and say why when there is no usable prediction.
pub async fn evidence(predictor: &dyn PricePredictor, request: &PredictPrice) -> MlEvidence {
    match predictor.predict(request).await {
        Ok(p) if consistent(&p) => MlEvidence::Predicted {
            price: p.price,
            low: p.low,
            high: p.high,
        },
        Ok(p) => MlEvidence::Unavailable(format!(
            "the ML service's prediction was inconsistent ({} outside {} – {}, or not in INR)",
            p.price, p.low, p.high
        )),
        Err(e) => MlEvidence::Unavailable(format!("the ML service did not answer: {e}")),
    }
}

fn consistent(p: &Predicted) -> bool {
    let inr = |m: &Money| m.currency == common::Currency::INR && m.amount > 0;
    inr(&p.price)
        && inr(&p.low)
        && inr(&p.high)
        && p.low.amount <= p.price.amount
        && p.price.amount <= p.high.amount
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
