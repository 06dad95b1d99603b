//! The pricing service under test, with a fake ML service, and its
//! fixtures: events as the product service sends them.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use common::{ClientError, Money};
use events::PushRequest;
use events::v1::{OrderCompleted, ProductCreated};
use http::StatusCode;
use pricing::domain::ml::{PredictPrice, Predicted, PricePredictor};
use testkit::TestService;
use testkit::users::{ARTISAN, BUYER};

/// The ML service as the tests set it: a prediction, or down.
#[derive(Default)]
pub(crate) struct FakeMl {
    pub answer: Mutex<Option<Predicted>>,
    pub asked: Mutex<Vec<PredictPrice>>,
}

#[async_trait]
impl PricePredictor for FakeMl {
    async fn predict(&self, request: &PredictPrice) -> Result<Predicted, ClientError> {
        self.asked.lock().unwrap().push(request.clone());
        self.answer
            .lock()
            .unwrap()
            .clone()
            .ok_or(ClientError::Unavailable {
                service: "ml",
                reason: "connection refused".into(),
            })
    }
}

pub(crate) struct TestApp {
    pub app: TestService,
    pub ml: Arc<FakeMl>,
}

impl Deref for TestApp {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.app
    }
}

impl TestApp {
    pub(crate) async fn spawn() -> Self {
        let ml = Arc::new(FakeMl::default());
        let predictor = ml.clone();
        let app = TestService::builder(pricing::NAME)
            .start(move |shared, auth| {
                let predictor: Arc<dyn PricePredictor> = predictor.clone();
                async move {
                    let config = pricing::Config {
                        shared,
                        service: Default::default(),
                    };
                    pricing::build_with(&config, pricing::Deps { auth, predictor }).await
                }
            })
            .await;
        Self { app, ml }
    }

    /// Deliver `event` as having happened `at`.
    pub(crate) async fn push_at<E: events::Event>(
        &self,
        event_id: &str,
        subject: &str,
        event: &E,
        at: DateTime<Utc>,
    ) {
        let body = PushRequest::for_event_at(event_id, "product", subject, event, at);
        self.post_json("/events/push", &body, Some(&self.service_token()))
            .await
            .assert_status(StatusCode::OK);
    }

    /// ARTISAN lists `id`.
    pub(crate) async fn listed(&self, id: &str, category: &str, region: &str, days: u32) {
        let event = listing(id, category, region, days);
        self.push_at(&format!("created-{id}"), id, &event, Utc::now())
            .await;
    }

    /// `quantity` of `product` sold at `unit_price` paise, `at`.
    pub(crate) async fn sold(&self, order: &str, product: &str, sale: Sale<'_>) {
        let event = completed(order, product, &sale);
        self.push_at(&format!("completed-{order}"), order, &event, sale.at)
            .await;
    }
}

/// A sale's facts.
pub(crate) struct Sale<'a> {
    pub category: &'a str,
    pub region: &'a str,
    pub quantity: u32,
    pub unit_price: i64,
    pub at: DateTime<Utc>,
}

pub(crate) fn listing(id: &str, category: &str, region: &str, days: u32) -> ProductCreated {
    ProductCreated {
        product_id: id.to_owned(),
        artisan_id: ARTISAN.to_owned(),
        title: "Blue pottery vase".to_owned(),
        category: category.to_owned(),
        subcategory: "vases".to_owned(),
        price: Some(Money::inr(150_000).into()),
        materials: vec!["clay".to_owned()],
        region: region.to_owned(),
        status: "active".to_owned(),
        production_time_days: days,
        ..Default::default()
    }
}

pub(crate) fn completed(order: &str, product: &str, s: &Sale<'_>) -> OrderCompleted {
    OrderCompleted {
        order_id: order.to_owned(),
        product_id: product.to_owned(),
        buyer_id: BUYER.to_owned(),
        artisan_id: ARTISAN.to_owned(),
        total: Some(Money::inr(s.unit_price * i64::from(s.quantity)).into()),
        quantity: s.quantity,
        unit_price: Some(Money::inr(s.unit_price).into()),
        category: s.category.to_owned(),
        subcategory: "vases".to_owned(),
        region: s.region.to_owned(),
    }
}

/// Wednesday noon of the week `weeks` from this one (negative: past).
pub(crate) fn week(weeks: i64) -> DateTime<Utc> {
    let today = Utc::now().date_naive();
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let noon = Utc.from_utc_datetime(&monday.and_hms_opt(12, 0, 0).unwrap());
    noon + Duration::weeks(weeks) + Duration::days(2)
}
