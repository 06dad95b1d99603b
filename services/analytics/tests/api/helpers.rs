//! The analytics service under test and its fixtures: the events other
//! services send, delivered as Pub/Sub pushes, at chosen times.

use std::ops::Deref;

use chrono::{DateTime, Duration, Utc};
use common::Money;
use events::PushRequest;
use events::v1::{
    AnalysisCompleted, EngagementRecorded, OrderCancelled, OrderCompleted, OrderPaid, OrderPlaced,
    ProductCreated, SearchPerformed,
};
use http::StatusCode;
use serde_json::Value;
use testkit::TestService;
use testkit::users::{ARTISAN, BUYER};

pub(crate) struct TestApp {
    pub app: TestService,
}

impl Deref for TestApp {
    type Target = TestService;
    fn deref(&self) -> &TestService {
        &self.app
    }
}

impl TestApp {
    /// In process; report jobs are rendered by the background worker only
    /// when `served`.
    /// In process. Markets are shown whoever sold in them: the figures
    /// here are hand-computed from one artisan's sales.
    pub(crate) async fn spawn() -> Self {
        Self::start(TestService::builder(analytics::NAME)).await
    }

    /// In process, with markets shown only where `min` artisans sold.
    pub(crate) async fn spawn_with_min_sellers(min: u32) -> Self {
        Self::start_with(TestService::builder(analytics::NAME), min).await
    }

    /// On a free port with its background tasks (report jobs, schedules).
    pub(crate) async fn serve() -> Self {
        Self::start(TestService::builder(analytics::NAME).served()).await
    }

    async fn start(builder: testkit::TestServiceBuilder) -> Self {
        Self::start_with(builder, 1).await
    }

    async fn start_with(builder: testkit::TestServiceBuilder, min_sellers: u32) -> Self {
        let app = builder
            .start(move |shared, auth| async move {
                let config = analytics::Config {
                    shared,
                    service: analytics::Settings {
                        poll_ms: 50,
                        market_min_sellers: min_sellers,
                        ..Default::default()
                    },
                };
                analytics::build_with(&config, analytics::Deps { auth }).await
            })
            .await;
        Self { app }
    }

    /// Deliver `event` as having happened `at`; the push's answer.
    pub(crate) async fn push_at<E: events::Event>(
        &self,
        event_id: &str,
        subject: &str,
        event: &E,
        at: DateTime<Utc>,
    ) -> Value {
        let body = PushRequest::for_event_at(event_id, "product", subject, event, at);
        let response = self
            .post_json("/events/push", &body, Some(&self.service_token()))
            .await;
        response.assert_status(StatusCode::OK);
        response.json()
    }

    /// `ARTISAN` lists `id` in `category`.
    pub(crate) async fn listed(&self, id: &str, category: &str, title: &str) {
        self.listed_by(id, ARTISAN, category, title).await;
    }

    pub(crate) async fn listed_by(&self, id: &str, artisan: &str, category: &str, title: &str) {
        self.listed_in(id, artisan, category, title, "Rajasthan")
            .await;
    }

    pub(crate) async fn listed_in(
        &self,
        id: &str,
        artisan: &str,
        category: &str,
        title: &str,
        region: &str,
    ) {
        let event = ProductCreated {
            product_id: id.to_owned(),
            artisan_id: artisan.to_owned(),
            title: title.to_owned(),
            category: category.to_owned(),
            subcategory: "vase".to_owned(),
            price: Some(Money::inr(150_000).into()),
            region: region.to_owned(),
            status: "active".to_owned(),
            ..Default::default()
        };
        self.push_at(
            &format!("created-{id}"),
            id,
            &event,
            Utc::now() - Duration::days(400),
        )
        .await;
    }

    /// `n` views of `product`, `at`.
    pub(crate) async fn viewed(&self, event_id: &str, product: &str, n: u64, at: DateTime<Utc>) {
        self.engaged(event_id, product, "view", n, "", at).await;
    }

    pub(crate) async fn engaged(
        &self,
        event_id: &str,
        product: &str,
        kind: &str,
        n: u64,
        user: &str,
        at: DateTime<Utc>,
    ) {
        let event = EngagementRecorded {
            product_id: product.to_owned(),
            artisan_id: ARTISAN.to_owned(),
            kind: kind.to_owned(),
            count: n,
            user_id: user.to_owned(),
            ..Default::default()
        };
        self.push_at(event_id, product, &event, at).await;
    }

    /// An order of `product` by `BUYER` for `total` paise, placed and paid
    /// `at` (shipped to `region`).
    pub(crate) async fn sold(
        &self,
        order: &str,
        product: &str,
        total: i64,
        at: DateTime<Utc>,
        region: &str,
    ) {
        self.placed(order, product, total, at, region, "").await;
        self.paid(order, total, at).await;
    }

    pub(crate) async fn placed(
        &self,
        order: &str,
        product: &str,
        total: i64,
        at: DateTime<Utc>,
        region: &str,
        search_id: &str,
    ) {
        let placed = OrderPlaced {
            order_id: order.to_owned(),
            product_id: product.to_owned(),
            buyer_id: BUYER.to_owned(),
            artisan_id: ARTISAN.to_owned(),
            quantity: 1,
            total: Some(Money::inr(total).into()),
            buyer_region: region.to_owned(),
            search_id: search_id.to_owned(),
        };
        self.push_at(&format!("placed-{order}"), order, &placed, at)
            .await;
    }

    /// An order of `artisan`'s `product` for ₹1,000, placed and paid `at`.
    pub(crate) async fn sold_by(
        &self,
        order: &str,
        product: &str,
        artisan: &str,
        at: DateTime<Utc>,
    ) {
        let placed = OrderPlaced {
            order_id: order.to_owned(),
            product_id: product.to_owned(),
            buyer_id: BUYER.to_owned(),
            artisan_id: artisan.to_owned(),
            quantity: 1,
            total: Some(Money::inr(100_000).into()),
            buyer_region: "Goa".to_owned(),
            search_id: String::new(),
        };
        self.push_at(&format!("placed-{order}"), order, &placed, at)
            .await;
        self.paid(order, 100_000, at).await;
    }

    pub(crate) async fn paid(&self, order: &str, total: i64, at: DateTime<Utc>) {
        let paid = OrderPaid {
            order_id: order.to_owned(),
            buyer_id: BUYER.to_owned(),
            artisan_id: ARTISAN.to_owned(),
            total: Some(Money::inr(total).into()),
            provider: "sandbox".to_owned(),
            ..Default::default()
        };
        self.push_at(
            &format!("paid-{order}"),
            order,
            &paid,
            at + Duration::minutes(5),
        )
        .await;
    }

    pub(crate) async fn cancelled(&self, order: &str, at: DateTime<Utc>) {
        let event = OrderCancelled {
            order_id: order.to_owned(),
            buyer_id: BUYER.to_owned(),
            artisan_id: ARTISAN.to_owned(),
            reason: "buyer".to_owned(),
            ..Default::default()
        };
        self.push_at(&format!("cancelled-{order}"), order, &event, at)
            .await;
    }

    pub(crate) async fn completed(
        &self,
        order: &str,
        product: &str,
        total: i64,
        category: &str,
        at: DateTime<Utc>,
    ) {
        let event = OrderCompleted {
            order_id: order.to_owned(),
            product_id: product.to_owned(),
            buyer_id: BUYER.to_owned(),
            artisan_id: ARTISAN.to_owned(),
            total: Some(Money::inr(total).into()),
            quantity: 1,
            unit_price: Some(Money::inr(total).into()),
            category: category.to_owned(),
            ..Default::default()
        };
        self.push_at(&format!("completed-{order}"), order, &event, at)
            .await;
    }

    pub(crate) async fn tagged(&self, product: &str, tags: &[&str]) {
        let event = AnalysisCompleted {
            product_id: product.to_owned(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            ..Default::default()
        };
        self.push_at(&format!("tags-{product}"), product, &event, Utc::now())
            .await;
    }

    pub(crate) async fn searched(
        &self,
        search_id: &str,
        query: &str,
        results: &[&str],
        at: DateTime<Utc>,
    ) {
        let event = SearchPerformed {
            search_id: search_id.to_owned(),
            query: query.to_owned(),
            terms: query.split(' ').map(str::to_owned).collect(),
            result_ids: results.iter().map(|r| (*r).to_owned()).collect(),
            total: results.len() as u64,
            ..Default::default()
        };
        self.push_at(&format!("search-{search_id}"), search_id, &event, at)
            .await;
    }

    /// The artisan's dashboard (as themself) over `period`.
    pub(crate) async fn artisan_dashboard(&self, period: &str) -> Value {
        let r = self
            .get(
                &format!("/analytics/dashboard/{ARTISAN}?user_type=artisan&period={period}"),
                Some(&self.artisan()),
            )
            .await;
        r.assert_status(StatusCode::OK);
        r.json()
    }
}

/// `days` days ago.
pub(crate) fn ago(days: i64) -> DateTime<Utc> {
    Utc::now() - Duration::days(days)
}
