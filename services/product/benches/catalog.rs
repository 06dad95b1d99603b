//! Catalogue benchmark: seeds 100,000 products, starts the service on a
//! free port, then times (over HTTP, one request at a time) a filtered and
//! sorted list page and a full-text search. Prints p50 and p99.
//!
//!   cargo bench -p product --bench catalog [-- N_PRODUCTS N_REQUESTS]
//!
//! Targets: list p99 ≤ 5 ms, search p99 ≤ 20 ms.
//!
//! The service is built twice: first reading the whole catalogue (and
//! writing a search snapshot), then as a new instance on an empty disk,
//! from the snapshot. With `CATALOG_STORE=firestore` the products are in
//! Google's Firestore emulator instead of SQLite: those lines are then the
//! cold starts of a production instance without and with a snapshot (the
//! emulator's latencies are not production's).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use common::{ClientError, Dimensions, LengthUnit, Money};
use product::domain::clients::{MediaApi, MediaInfo, MlApi, StoryRequest, StoryResponse};
use product::domain::products::{Product, ProductStatus};
use store::{Store, Write};
use testkit::bench::{CATEGORIES, Latencies, REGIONS, Serving};

const CRAFTS: &[&str] = &[
    "Kantha",
    "Blue Pottery",
    "Dhokra",
    "Pattachitra",
    "Banarasi",
    "Bandhani",
    "Madhubani",
    "Channapatna",
];
const NOUNS: &[&str] = &[
    "saree", "stole", "vase", "bowl", "necklace", "box", "lamp", "mask", "basket", "bag",
    "figurine", "plate",
];
const ADJ: &[&str] = &[
    "handwoven",
    "hand-painted",
    "carved",
    "embroidered",
    "glazed",
    "beaded",
    "indigo",
    "terracotta",
    "silk",
    "brass",
];
const HINDI: &[&str] = &[
    "हाथ से बुनी",
    "रेशमी",
    "मिट्टी का",
    "पीतल का",
    "कढ़ाई वाली",
    "रंगीन",
    "पारंपरिक",
    "बनारसी",
];
const MATERIALS: &[&str] = &[
    "cotton",
    "silk",
    "clay",
    "brass",
    "wood",
    "jute",
    "leather",
    "glass beads",
];

/// No media (the seeded products have none).
struct NoMedia;

#[async_trait::async_trait]
impl MediaApi for NoMedia {
    async fn get(&self, _: &str) -> Result<Option<MediaInfo>, ClientError> {
        Ok(None)
    }
}

/// No escrow (the benchmark pays nothing).
struct NoEscrow;

#[async_trait::async_trait]
impl product::domain::payments::escrow::EscrowApi for NoEscrow {
    async fn expect(
        &self,
        _: &str,
        _: common::Money,
    ) -> Result<product::domain::payments::escrow::EscrowTerms, ClientError> {
        Err(ClientError::Unavailable {
            service: "blockchain",
            reason: "benchmark".into(),
        })
    }
}

/// No story writer.
struct NoMl;

#[async_trait::async_trait]
impl MlApi for NoMl {
    async fn cultural_story(&self, _: &StoryRequest) -> Result<StoryResponse, ClientError> {
        Err(ClientError::Unavailable {
            service: "ml",
            reason: "benchmark".into(),
        })
    }
}

fn product(i: usize, now: chrono::DateTime<chrono::Utc>) -> Product {
    let pick = |list: &[&'static str], salt: usize| {
        list[(i.wrapping_mul(2_654_435_761) >> 7).wrapping_add(salt) % list.len()]
    };
    let title = format!(
        "{} {} {} #{i}",
        pick(ADJ, 1),
        pick(CRAFTS, 2),
        pick(NOUNS, 3)
    );
    let mut description = BTreeMap::new();
    description.insert(
        "en".to_owned(),
        format!(
            "A {} {} made by hand in {} using {}.",
            pick(ADJ, 4),
            pick(NOUNS, 5),
            pick(REGIONS, 6),
            pick(MATERIALS, 7)
        ),
    );
    description.insert(
        "hi".to_owned(),
        format!("यह {} {} है।", pick(HINDI, 8), pick(HINDI, 9)),
    );
    let at = now - chrono::Duration::seconds(i as i64);
    Product {
        artisan_id: format!("artisan{}", i % 2000),
        title,
        description,
        category: pick(CATEGORIES, 10).to_owned(),
        subcategory: pick(NOUNS, 11).to_owned(),
        price: Money::inr(((i * 7919) % 2_000_000 + 10_000) as i64),
        materials: vec![
            pick(MATERIALS, 12).to_owned(),
            pick(MATERIALS, 13).to_owned(),
        ],
        dimensions: Some(Dimensions {
            length: 30,
            width: 20,
            height: 10,
            unit: LengthUnit::Cm,
            weight_g: 500,
        }),
        production_time_days: Some(14),
        region: Some(pick(REGIONS, 14).to_owned()),
        craft_tradition: Some(pick(CRAFTS, 15).to_owned()),
        media_ids: Vec::new(),
        status: ProductStatus::Active,
        ai: Default::default(),
        suggested_price: Default::default(),
        cultural_story: None,
        cultural_story_by: None,
        created_at: at,
        updated_at: at,
        deleted_at: None,
    }
}

fn main() {
    testkit::init_logs();
    let [n, requests] = testkit::bench::args([100_000, 2_000]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(run(n, requests));
}

async fn run(n: usize, requests: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut shared = common::SharedConfig::local(product::NAME, 0);
    shared.data_dir = dir.path().to_path_buf();
    let firestore = std::env::var("CATALOG_STORE").is_ok_and(|s| s == "firestore");
    let _emulator = match firestore {
        true => {
            let emulator = testkit::FirestoreEmulator::start().await.unwrap();
            shared.gcp_project = Some("craftchain-bench".to_owned());
            shared.store = common::config::StoreConfig {
                backend: common::config::StoreBackend::Firestore,
                emulator_host: Some(emulator.host().to_owned()),
                ..Default::default()
            };
            Some(emulator)
        }
        false => None,
    };
    let store: Store = events::open_store(&shared).await.unwrap();
    let started = Instant::now();
    let now = chrono::Utc::now();
    // Firestore commits are kept to 500 writes, as its own clients batch them.
    let per_commit = if firestore { 500 } else { 10_000 };
    for chunk in (0..n).collect::<Vec<_>>().chunks(per_commit) {
        let writes = chunk
            .iter()
            .map(|&i| Write::Put {
                collection: "products".into(),
                id: format!("p{i:07}"),
                data: serde_json::to_value(product(i, now)).unwrap(),
                precondition: None,
            })
            .collect();
        store.backend().commit(writes).await.unwrap();
    }
    drop(store);
    println!(
        "seeded {n} products in {:.1?} ({})",
        started.elapsed(),
        if firestore {
            "Firestore emulator"
        } else {
            "SQLite"
        }
    );

    let fake = testkit::FakeAuthApi::new().unwrap();
    let snapshots = dir.path().join("snapshots");
    let config = product::Config {
        shared: shared.clone(),
        service: product::Settings {
            search_snapshots: Some(blobs::BlobConfig::Local {
                root: Some(snapshots.clone()),
            }),
            ..product::Settings::default()
        },
    };
    let build = || {
        product::build_with(
            &config,
            product::Deps {
                auth: fake.authenticator(),
                media: Arc::new(NoMedia),
                ml: Arc::new(NoMl),
                escrow: Arc::new(NoEscrow),
            },
        )
    };
    let started = Instant::now();
    let first = build().await.unwrap();
    println!(
        "service built (indexes + search index rebuilt from the store) in {:.1?}",
        started.elapsed()
    );
    // A second instance, as Cloud Run starts one: an empty disk, the
    // snapshot the first wrote.
    let object = snapshots.join(product::domain::snapshots::OBJECT);
    testkit::eventually(
        std::time::Duration::from_secs(120),
        "the search snapshot",
        || async { object.exists().then_some(()) },
    )
    .await
    .unwrap();
    drop(first);
    std::fs::remove_dir_all(shared.service_dir().join("search")).unwrap();
    let started = Instant::now();
    let service = build().await.unwrap();
    println!(
        "a new instance built (search index from the snapshot, {:.0} MB) in {:.1?}",
        std::fs::metadata(&object).unwrap().len() as f64 / 1e6,
        started.elapsed()
    );
    let serving = Serving::start(service, &shared).await;
    let client = reqwest::Client::new();
    let base = serving.base.clone();

    let mut list = Latencies::new(100, requests);
    let mut search = Latencies::new(100, requests);
    for i in 0..requests + 100 {
        let category = CATEGORIES[i % CATEGORIES.len()];
        let sort = ["newest", "price_asc", "price_desc"][i % 3];
        let url =
            format!("{base}/products?category={category}&min_price=50000&sort={sort}&limit=20");
        let t = Instant::now();
        let r = client.get(&url).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let body = r.bytes().await.unwrap();
        list.record(t.elapsed());
        assert!(body.len() > 100);

        let words = [ADJ[i % ADJ.len()], NOUNS[(i / 3) % NOUNS.len()]];
        let query = if i % 4 == 0 {
            HINDI[i % HINDI.len()].split(' ').next().unwrap().to_owned()
        } else {
            words.join(" ")
        };
        let body = serde_json::json!({"query": query, "filters": {"region": REGIONS[i % REGIONS.len()], "limit": 20}});
        let t = Instant::now();
        let r = client
            .post(format!("{base}/products/search"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let _ = r.bytes().await.unwrap();
        search.record(t.elapsed());
    }
    println!("\nover HTTP at the service, {requests} requests each, {n} products:");
    let label = "list   (category + min_price + sort, 20 items):";
    println!("{}", list.line(label, "target p99 <= 5 ms"));
    let label = "search (text + region filter, 20 hits):        ";
    println!("{}", search.line(label, "target p99 <= 20 ms"));
    serving.stop().await;
}
