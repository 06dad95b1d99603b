//! Razorpay over its REST API: the Orders API creates a payment for an
//! order's exact amount (`POST /v1/orders`, the order id as `receipt`), the
//! Refunds API refunds one (`POST /v1/payments/{id}/refund`); basic auth
//! with the key id and key secret. Webhooks are read by [`super::verify`].

use std::time::Duration;

use async_trait::async_trait;
use common::Money;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use url::Url;

use super::{Created, PaymentProvider, ProviderError, ProviderName, Refunded};

/// How to reach Razorpay.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RazorpayConfig {
    /// `https://api.razorpay.com/` (a stand-in's in tests).
    #[serde(default = "default_api")]
    pub api_url: Url,
    pub key_id: String,
    pub key_secret: SecretString,
    pub webhook_secret: SecretString,
}

fn default_api() -> Url {
    Url::parse("https://api.razorpay.com/").unwrap_or_else(|_| common::config::local_url(443))
}

/// The Razorpay provider.
pub struct Razorpay {
    config: RazorpayConfig,
    http: reqwest::Client,
}

impl Razorpay {
    pub fn new(config: RazorpayConfig) -> Self {
        Self {
            config,
            http: common::client::http_client(),
        }
    }

    async fn post<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        body: &serde_json::Value,
        idempotency_key: Option<&str>,
    ) -> Result<T, ProviderError> {
        let url = self
            .config
            .api_url
            .join(path)
            .map_err(|e| ProviderError::Refused(e.to_string()))?;
        let mut request = self
            .http
            .post(url)
            .basic_auth(
                &self.config.key_id,
                Some(self.config.key_secret.expose_secret()),
            )
            .timeout(Duration::from_secs(15))
            .json(body);
        if let Some(key) = idempotency_key {
            request = request.header("X-Refund-Idempotency", key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(format!("razorpay: {e}")))?;
        let status = response.status();
        if status.is_success() {
            return response
                .json::<T>()
                .await
                .map_err(|e| ProviderError::Unavailable(format!("razorpay answered oddly: {e}")));
        }
        let reason = response
            .json::<ErrorBody>()
            .await
            .map(|b| b.error.description)
            .unwrap_or_else(|_| status.to_string());
        // 409: a retry of an idempotent request still in progress there.
        if matches!(status.as_u16(), 409 | 429) || status.is_server_error() {
            Err(ProviderError::Unavailable(format!(
                "razorpay {status}: {reason}"
            )))
        } else {
            Err(ProviderError::Refused(format!(
                "razorpay {status}: {reason}"
            )))
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    description: String,
}

#[derive(Serialize, Deserialize)]
struct OrderEntity {
    id: String,
    amount: i64,
    currency: String,
}

#[derive(Deserialize)]
struct RefundEntity {
    id: String,
    amount: i64,
    status: String,
}

#[async_trait]
impl PaymentProvider for Razorpay {
    fn name(&self) -> ProviderName {
        ProviderName::Razorpay
    }

    async fn create(&self, order_id: &str, amount: Money) -> Result<Created, ProviderError> {
        let body = json!({
            "amount": amount.amount,
            "currency": amount.currency.code(),
            "receipt": order_id,
            "notes": { "craftchain_order_id": order_id },
        });
        let order: OrderEntity = self.post("v1/orders", &body, None).await?;
        if order.amount != amount.amount || order.currency != amount.currency.code() {
            return Err(ProviderError::Refused(format!(
                "razorpay created order {} for {} {} instead of {amount}",
                order.id, order.amount, order.currency
            )));
        }
        Ok(Created {
            provider_order_id: order.id,
            amount,
        })
    }

    async fn refund(
        &self,
        payment_id: &str,
        amount: Money,
        key: &str,
    ) -> Result<Refunded, ProviderError> {
        let body = json!({
            "amount": amount.amount,
            "speed": "normal",
            "receipt": key,
            "notes": { "craftchain_refund": key },
        });
        let path = format!("v1/payments/{payment_id}/refund");
        let refund: RefundEntity = self.post(&path, &body, Some(key)).await?;
        Ok(Refunded {
            refund_id: refund.id,
            amount: Money::new(refund.amount, amount.currency),
            processed: refund.status == "processed",
        })
    }

    fn webhook_secret(&self) -> &[u8] {
        self.config.webhook_secret.expose_secret().as_bytes()
    }

    fn checkout_secret(&self) -> &[u8] {
        self.config.key_secret.expose_secret().as_bytes()
    }
}
