//! Analytics benchmark. Ingests N synthetic events (default 1,000,000)
//! the way the rebuild command does — Pub/Sub message data decoded into
//! facts and stored in batches — then serves the service over the result
//! and times, over HTTP one request at a time, the artisan dashboard
//! (30 days) and 365-day market trends, and renders a 20-page PDF report
//! as a job: seconds and the peak growth of resident memory meanwhile.
//!
//! The events: 5,000 products of 500 artisans in ten categories with ML
//! tags, then views, likes, shares and search clicks (60%), searches with
//! ten results (10%) and orders — placed, paid, completed, one in fifteen
//! cancelled — over three years.
//!
//!   cargo bench -p analytics --bench facts [-- N_EVENTS N_REQUESTS]
//!
//! Targets: ≥ 20,000 events/s ingested; dashboard p99 ≤ 50 ms; 365-day
//! market trends p99 ≤ 100 ms.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use analytics::facts::{FactStore, SqliteFacts, decode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use common::Money;
use common::Role;
use common::mix::Stream;
use events::v1::{
    AnalysisCompleted, EngagementRecorded, OrderCancelled, OrderCompleted, OrderPaid, OrderPlaced,
    ProductCreated, SearchPerformed,
};
use events::{Event, PushRequest, Received};
use serde_json::{Value, json};
use testkit::bench::{Latencies, REGIONS, Serving};

const PRODUCTS: u64 = 5_000;
const ARTISANS: u64 = 500;
const CATEGORIES: &[&str] = common::catalogue::CATEGORIES.split_at(10).0;
const TAGS: &[&str] = &[
    "floral",
    "geometric",
    "blue",
    "earthy",
    "minimal",
    "folk",
    "gold",
    "pastel",
    "bold",
    "muted",
];
const BATCH: usize = 5_000;

fn main() {
    let [events, requests] = testkit::bench::args([1_000_000, 1_000]);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run(events as u64, requests));
}

/// The message data Pub/Sub would carry for `event`.
fn data<E: Event>(id: String, subject: &str, event: &E, at: chrono::DateTime<Utc>) -> String {
    PushRequest::for_event_at(&id, "product", subject, event, at)
        .message
        .data
}

/// The events, in the order they are ingested.
fn synthetic(n: u64) -> Vec<String> {
    let now = Utc::now();
    let mut out = Vec::with_capacity(n as usize);
    let mut r = Stream(7);
    let created = now - chrono::Duration::days(3 * 365 + 1);
    for p in 0..PRODUCTS.min(n / 2) {
        let artisan = format!("artisan-{}", p % ARTISANS);
        let category = CATEGORIES[(p % CATEGORIES.len() as u64) as usize];
        let event = ProductCreated {
            product_id: format!("p{p}"),
            artisan_id: artisan,
            title: format!("Handmade piece {p}"),
            category: category.into(),
            subcategory: "any".into(),
            region: REGIONS[(p % REGIONS.len() as u64) as usize].into(),
            price: Some(Money::inr(50_000 + (p % 40) as i64 * 10_000).into()),
            status: "active".into(),
            ..Default::default()
        };
        out.push(data(
            format!("c{p}"),
            &event.product_id.clone(),
            &event,
            created,
        ));
        let tags = AnalysisCompleted {
            product_id: format!("p{p}"),
            tags: (0..3)
                .map(|k| TAGS[((p + k * 3) % 10) as usize].into())
                .collect(),
            ..Default::default()
        };
        out.push(data(
            format!("t{p}"),
            &tags.product_id.clone(),
            &tags,
            created,
        ));
    }
    let mut order = 0u64;
    let mut search = 0u64;
    while (out.len() as u64) < n {
        let i = out.len() as u64;
        let p = (r.next_unit() * PRODUCTS as f64) as u64;
        let artisan = format!("artisan-{}", p % ARTISANS);
        let at = now - chrono::Duration::seconds((r.next_unit() * 3.0 * 365.0 * 86_400.0) as i64);
        let roll = r.next_unit();
        if roll < 0.6 {
            let kind = match r.next_unit() {
                x if x < 0.85 => "view",
                x if x < 0.92 => "like",
                x if x < 0.95 => "share",
                _ => "click",
            };
            let event = EngagementRecorded {
                product_id: format!("p{p}"),
                artisan_id: artisan,
                kind: kind.into(),
                count: if kind == "view" {
                    1 + (r.next_unit() * 20.0) as u64
                } else {
                    1
                },
                user_id: if kind == "view" {
                    String::new()
                } else {
                    format!("buyer-{}", i % 20_000)
                },
                search_id: if kind == "click" {
                    format!("s{}", search.saturating_sub(1))
                } else {
                    String::new()
                },
                ..Default::default()
            };
            out.push(data(format!("e{i}"), &event.product_id.clone(), &event, at));
        } else if roll < 0.7 {
            let results: Vec<String> = (0..10)
                .map(|k| format!("p{}", (p + k * 37) % PRODUCTS))
                .collect();
            let event = SearchPerformed {
                search_id: format!("s{search}"),
                query: TAGS[(p % 10) as usize].to_owned() + " " + CATEGORIES[(p % 10) as usize],
                result_ids: results,
                total: 40,
                ..Default::default()
            };
            out.push(data(
                format!("s{search}"),
                &event.search_id.clone(),
                &event,
                at,
            ));
            search += 1;
        } else {
            let o = format!("o{order}");
            let quantity = 1 + (r.next_unit() * 3.0) as u32;
            let total = Money::inr((40_000 + (p % 50) as i64 * 5_000) * i64::from(quantity));
            let placed = OrderPlaced {
                order_id: o.clone(),
                product_id: format!("p{p}"),
                buyer_id: format!("buyer-{}", i % 20_000),
                artisan_id: artisan.clone(),
                quantity,
                total: Some(total.into()),
                buyer_region: REGIONS[(i % REGIONS.len() as u64) as usize].into(),
                search_id: if r.next_unit() < 0.3 {
                    format!("s{}", search.saturating_sub(1))
                } else {
                    String::new()
                },
            };
            out.push(data(format!("op{order}"), &o, &placed, at));
            let paid = OrderPaid {
                order_id: o.clone(),
                artisan_id: artisan.clone(),
                total: Some(total.into()),
                ..Default::default()
            };
            out.push(data(
                format!("oy{order}"),
                &o,
                &paid,
                at + chrono::Duration::minutes(10),
            ));
            if order.is_multiple_of(15) {
                let cancelled = OrderCancelled {
                    order_id: o.clone(),
                    artisan_id: artisan,
                    ..Default::default()
                };
                out.push(data(
                    format!("ox{order}"),
                    &o,
                    &cancelled,
                    at + chrono::Duration::hours(2),
                ));
            } else {
                let completed = OrderCompleted {
                    order_id: o.clone(),
                    product_id: format!("p{p}"),
                    artisan_id: artisan,
                    total: Some(total.into()),
                    quantity,
                    unit_price: Some(Money::inr(total.amount / i64::from(quantity)).into()),
                    ..Default::default()
                };
                out.push(data(
                    format!("oc{order}"),
                    &o,
                    &completed,
                    at + chrono::Duration::days(7),
                ));
            }
            order += 1;
        }
    }
    out.truncate(n as usize);
    out
}

async fn run(n: u64, requests: usize) {
    let dir = tempfile::tempdir().unwrap();
    // ANALYTICS_BENCH_FACTS=<file> keeps the facts there, to look into.
    let facts_path = std::env::var_os("ANALYTICS_BENCH_FACTS")
        .map_or_else(|| dir.path().join("facts.sqlite"), std::path::PathBuf::from);

    let log = synthetic(n);
    let facts = SqliteFacts::open(&facts_path).unwrap();
    let started = Instant::now();
    let mut stored = 0;
    for chunk in log.chunks(BATCH) {
        let batch: Vec<_> = chunk
            .iter()
            .map(|d| {
                let bytes = STANDARD.decode(d).unwrap();
                decode::ingest(&Received::from_bytes(&bytes).unwrap()).unwrap()
            })
            .collect();
        stored += facts.ingest(&batch).unwrap();
    }
    let took = started.elapsed();
    drop(log);
    println!(
        "{stored} events ingested in {took:.1?}: {:.0} a second   (target >= 20,000/s)",
        stored as f64 / took.as_secs_f64()
    );
    drop(facts);

    let mut shared = common::SharedConfig::local(analytics::NAME, 0);
    shared.data_dir = dir.path().to_path_buf();
    let fake = testkit::FakeAuthApi::new().unwrap();
    let config = analytics::Config {
        shared: shared.clone(),
        service: analytics::Settings {
            facts_path: Some(facts_path),
            poll_ms: 20,
            ..Default::default()
        },
    };
    let service = analytics::build_with(
        &config,
        analytics::Deps {
            auth: fake.authenticator(),
        },
    )
    .await
    .unwrap();
    let serving = Serving::start(service, &shared).await;
    let client = reqwest::Client::new();
    let base = serving.base.clone();
    let admin = fake.token("admin-bench", Role::Admin);

    let mut r = Stream(11);
    let mut dashboard = Latencies::new(20, requests);
    for _ in 0..requests + 20 {
        let a = (r.next_unit() * ARTISANS as f64) as u64;
        let url = format!("{base}/analytics/dashboard/artisan-{a}?user_type=artisan&period=30d");
        let started = Instant::now();
        let response = client.get(&url).bearer_auth(&admin).send().await.unwrap();
        assert!(response.status().is_success());
        let _: Value = response.json().await.unwrap();
        dashboard.record(started.elapsed());
    }
    let mut trends = Latencies::new(20, requests);
    for i in 0..requests + 20 {
        let category = CATEGORIES[i % CATEGORIES.len()];
        let url = format!("{base}/analytics/market-trends?category={category}&time_period=365d");
        let started = Instant::now();
        let response = client.get(&url).bearer_auth(&admin).send().await.unwrap();
        assert!(response.status().is_success());
        let _: Value = response.json().await.unwrap();
        trends.record(started.elapsed());
    }
    println!("over HTTP at the service, {requests} requests each, {n} events:");
    println!(
        "{}",
        dashboard.line("artisan dashboard (30d):   ", "target p99 <= 50 ms")
    );
    println!(
        "{}",
        trends.line("market trends (365d):      ", "target p99 <= 100 ms")
    );

    // A 20-page PDF: a cover, three pages of charts, 16 of the table (a
    // region's 625 products, 40 rows a page).
    let baseline = testkit::memory::rss_bytes();
    let peak = Arc::new(AtomicU64::new(baseline));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(testkit::memory::rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let started = Instant::now();
    let queued = client
        .post(format!("{base}/analytics/report"))
        .bearer_auth(&admin)
        .json(
            &json!({"title": "उत्पाद रिपोर्ट — a year of West Bengal's products",
                      "metrics": ["revenue", "orders", "units", "views", "conversion"],
                      "dimensions": ["product"], "filters": {"region": REGIONS[0]},
                      "period": "365d", "format": "pdf"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), 202);
    let location = queued.headers()["location"].to_str().unwrap().to_owned();
    let status = loop {
        let s: Value = client
            .get(format!("{base}{location}"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["status"] == "done" || s["status"] == "failed" {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let took = started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let pdf = client
        .get(format!(
            "{base}{}",
            status["files"][0]["url"].as_str().unwrap()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    println!(
        "PDF report: {} pages, {} KiB, {:.2}s from request to done, resident memory +{:.1} MiB at its peak",
        status["pages"],
        pdf.len() / 1024,
        took.as_secs_f64(),
        peak.load(Ordering::Relaxed).saturating_sub(baseline) as f64 / (1024.0 * 1024.0)
    );
    serving.stop().await;
}
