//! Pricing benchmark: ingests 100,000 completed orders as Pub/Sub pushes
//! (eight categories × eight regions, two years, eight at a time, each
//! retried until acknowledged as the relay would), then times over HTTP,
//! one request at a time, `POST /pricing/calculate` (without the ML call:
//! the predictor answers "unavailable" at once) and
//! `GET /pricing/market-analysis/{category}` (half with a region). Prints
//! the ingestion time and p50/p99.
//!
//!   cargo bench -p pricing --bench market [-- N_ORDERS N_REQUESTS]
//!
//! Targets: calculate p99 ≤ 20 ms, market-analysis p99 ≤ 50 ms.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{ClientError, Money, Role};
use events::PushRequest;
use events::v1::{OrderCompleted, ProductCreated};
use futures::StreamExt as _;
use pricing::domain::ml::{PredictPrice, Predicted, PricePredictor};
use testkit::bench::{CATEGORIES, Latencies, REGIONS, Serving};

const ARTISAN: &str = "artisan-bench";
const PRODUCTS: usize = 2_000;
const IN_FLIGHT: usize = 8;

/// The ML service left out of the measurement.
struct NoMl;

#[async_trait::async_trait]
impl PricePredictor for NoMl {
    async fn predict(&self, _: &PredictPrice) -> Result<Predicted, ClientError> {
        Err(ClientError::Unavailable {
            service: "ml",
            reason: "benchmark".into(),
        })
    }
}

use common::mix::unit;

fn main() {
    let [orders, requests] = testkit::bench::args([100_000, 2_000]);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run(orders, requests));
}

async fn push(client: &reqwest::Client, url: &str, token: &str, body: &PushRequest) {
    loop {
        let r = client
            .post(url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn run(orders: usize, requests: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut shared = common::SharedConfig::local(pricing::NAME, 0);
    shared.data_dir = dir.path().to_path_buf();
    let fake = testkit::FakeAuthApi::new().unwrap();
    let config = pricing::Config {
        shared: shared.clone(),
        service: pricing::Settings::default(),
    };
    let deps = pricing::Deps {
        auth: fake.authenticator(),
        predictor: Arc::new(NoMl),
    };
    let service = pricing::build_with(&config, deps).await.unwrap();
    let serving = Serving::start(service, &shared).await;
    let client = reqwest::Client::new();
    let base = serving.base.clone();
    let push_url = format!("{base}/events/push");
    let service_token = fake.token("svc-bench", Role::Service);

    // The listings, then the sales.
    let started = Instant::now();
    let listed = futures::stream::iter(0..PRODUCTS)
        .map(|i| {
            let event = ProductCreated {
                product_id: format!("p{i}"),
                artisan_id: ARTISAN.into(),
                category: CATEGORIES[i % CATEGORIES.len()].into(),
                subcategory: "any".into(),
                region: REGIONS[(i / CATEGORIES.len()) % REGIONS.len()].into(),
                price: Some(Money::inr(100_000).into()),
                production_time_days: (i % 10) as u32,
                status: "active".into(),
                ..Default::default()
            };
            let body = PushRequest::for_event(
                &format!("created-{i}"),
                "product",
                &event.product_id,
                &event,
            );
            let (client, url, token) = (&client, &push_url, &service_token);
            async move { push(client, url, token, &body).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .count()
        .await;
    println!("{listed} listings ingested in {:.1?}", started.elapsed());

    let now = Utc::now();
    let started = Instant::now();
    futures::stream::iter(0..orders)
        .map(|i| {
            let product = i % PRODUCTS;
            let category = CATEGORIES[product % CATEGORIES.len()];
            let region = REGIONS[(product / CATEGORIES.len()) % REGIONS.len()];
            // Prices around a category's level, with a season and a drift.
            let level = 50_000.0 * (1 + product % CATEGORIES.len()) as f64;
            let days = unit(i as u64) * 730.0;
            let season = 1.0 + 0.2 * (days / 365.0 * std::f64::consts::TAU).sin();
            let price = level
                * season
                * (1.0 + 0.1 * (730.0 - days) / 730.0)
                * (0.7 + 0.6 * unit(i as u64 + 7));
            let quantity = 1 + (unit(i as u64 + 13) * 3.0) as u32;
            let event = OrderCompleted {
                order_id: format!("o{i}"),
                product_id: format!("p{product}"),
                buyer_id: "buyer".into(),
                artisan_id: ARTISAN.into(),
                total: Some(Money::inr(price as i64 * i64::from(quantity)).into()),
                quantity,
                unit_price: Some(Money::inr(price as i64).into()),
                category: category.into(),
                subcategory: "any".into(),
                region: region.into(),
            };
            let at = now - chrono::Duration::seconds((days * 86_400.0) as i64);
            let body = PushRequest::for_event_at(
                &format!("completed-{i}"),
                "product",
                &event.order_id,
                &event,
                at,
            );
            let (client, url, token) = (&client, &push_url, &service_token);
            async move { push(client, url, token, &body).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .count()
        .await;
    let took = started.elapsed();
    println!(
        "{orders} completed orders ingested in {took:.1?} ({:.0} a second)",
        orders as f64 / took.as_secs_f64()
    );

    let artisan = fake.token(ARTISAN, Role::Artisan);
    let mut calculate = Latencies::new(100, requests);
    let mut market = Latencies::new(100, requests);
    for i in 0..requests + 100 {
        let urgency = ["low", "medium", "high"][i % 3];
        let body = serde_json::json!({
            "product_id": format!("p{}", i % PRODUCTS),
            "base_cost": {"amount": 5_000, "currency": "INR"},
            "labor_hours": 4 + i % 30,
            "material_costs": [{"name": "clay", "amount": {"amount": 20_000, "currency": "INR"}}],
            "artisan_skill_level": 1 + i % 5,
            "urgency": urgency
        });
        let t = Instant::now();
        let r = client
            .post(format!("{base}/pricing/calculate"))
            .bearer_auth(&artisan)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let _ = r.bytes().await.unwrap();
        calculate.record(t.elapsed());

        let category = CATEGORIES[i % CATEGORIES.len()];
        let url = if i % 2 == 0 {
            format!("{base}/pricing/market-analysis/{category}")
        } else {
            let region = REGIONS[(i / 2) % REGIONS.len()].replace(' ', "%20");
            format!("{base}/pricing/market-analysis/{category}?region={region}")
        };
        let t = Instant::now();
        let r = client.get(&url).bearer_auth(&artisan).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let _ = r.bytes().await.unwrap();
        market.record(t.elapsed());
    }
    println!("\nover HTTP at the service, {requests} requests each, {orders} orders:");
    println!(
        "{}",
        calculate.line("calculate (no ML call):", "target p99 <= 20 ms")
    );
    println!(
        "{}",
        market.line("market-analysis:       ", "target p99 <= 50 ms")
    );
    serving.stop().await;
}
