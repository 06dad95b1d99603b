//! `POST /analytics/report`: validation, JSON, CSV, and PDF jobs whose
//! files are real documents and images.

use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};
use testkit::users::OTHER_ARTISAN;

use crate::helpers::{TestApp, ago};

async fn report(app: &TestApp, token: &str, body: Value) -> testkit::http::TestResponse {
    app.post_json("/analytics/report", &body, Some(token)).await
}

async fn some_sales(app: &TestApp) {
    app.listed("p1", "pottery", "Blue pottery vase").await;
    app.listed("p2", "textiles", "कांथा रेशमी दुपट्टा").await;
    app.sold("o1", "p1", 100_000, ago(1), "Karnataka").await;
    app.sold("o2", "p1", 150_000, ago(2), "Kerala").await;
    app.sold("o3", "p2", 250_000, ago(3), "West Bengal").await;
    app.viewed("v1", "p1", 20, ago(1)).await;
    app.viewed("v2", "p2", 5, ago(1)).await;
}

#[tokio::test]
async fn unknown_or_repeated_metrics_and_dimensions_are_named() {
    let app = TestApp::spawn().await;
    let token = app.artisan();
    let cases = [
        (json!({"metrics": ["revenue", "profit"]}), "metrics[1]"),
        (json!({"metrics": ["orders", "orders"]}), "metrics[1]"),
        (
            json!({"metrics": ["orders"], "dimensions": ["colour"]}),
            "dimensions[0]",
        ),
        (
            json!({"metrics": ["views"], "dimensions": ["buyer_region"]}),
            "dimensions[0]",
        ),
        (
            json!({"metrics": ["views"], "dimensions": ["day", "month"]}),
            "dimensions",
        ),
        (json!({"metrics": []}), "metrics"),
        (
            json!({"metrics": ["orders"], "filters": {"category": "spaceships"}}),
            "filters.category",
        ),
        (json!({"metrics": ["orders"], "title": " "}), "title"),
    ];
    for (body, field) in cases {
        let r = report(&app, &token, body.clone()).await;
        r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        r.assert_invalid_fields(&[field]);
    }
    let too_many = json!({"metrics": vec!["orders"; 10]});
    report(&app, &token, too_many)
        .await
        .assert_invalid_fields(&["metrics"]);
    let bad_format = report(
        &app,
        &token,
        json!({"metrics": ["orders"], "format": "xlsx"}),
    )
    .await;
    bad_format.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn buyers_and_other_artisans_figures_are_refused() {
    let app = TestApp::spawn().await;
    let buyer = report(&app, &app.buyer(), json!({"metrics": ["orders"]})).await;
    let others = report(
        &app,
        &app.artisan(),
        json!({"metrics": ["orders"], "filters": {"artisan_id": OTHER_ARTISAN}}),
    )
    .await;
    buyer.assert_status(StatusCode::FORBIDDEN);
    others.assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn json_rows_by_category_carry_every_metric() {
    let app = TestApp::spawn().await;
    some_sales(&app).await;
    app.listed_by("x1", OTHER_ARTISAN, "pottery", "Not hers")
        .await;
    let theirs = events::v1::EngagementRecorded {
        product_id: "x1".into(),
        artisan_id: OTHER_ARTISAN.into(),
        kind: "view".into(),
        count: 1000,
        ..Default::default()
    };
    app.push_at("vx", "x1", &theirs, ago(1)).await;

    let r = report(
        &app,
        &app.artisan(),
        json!({"metrics": ["revenue", "orders", "views", "conversion", "average_order_value"],
               "dimensions": ["category"]}),
    )
    .await;

    r.assert_status(StatusCode::OK);
    let data: Value = r.json();
    // Equal revenue: the more viewed first.
    assert_eq!(
        data["rows"],
        json!([
            {"category": "pottery", "revenue": {"amount": 250_000, "currency": "INR"},
             "orders": 2, "views": 20, "conversion": 0.1,
             "average_order_value": {"amount": 125_000, "currency": "INR"}},
            {"category": "textiles", "revenue": {"amount": 250_000, "currency": "INR"},
             "orders": 1, "views": 5, "conversion": 0.2,
             "average_order_value": {"amount": 250_000, "currency": "INR"}},
        ])
    );
    assert_eq!(data["truncated"], false);
}

#[tokio::test]
async fn csv_is_rupees_with_quoted_text() {
    let app = TestApp::spawn().await;
    some_sales(&app).await;

    let r = report(
        &app,
        &app.artisan(),
        json!({"metrics": ["revenue", "units"], "dimensions": ["buyer_region"], "format": "csv"}),
    )
    .await;

    r.assert_status(StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert_eq!(
        r.text(),
        "buyer_region,revenue_inr,units\r\nWest Bengal,2500.00,1\r\nKerala,1500.00,1\r\nKarnataka,1000.00,1\r\n"
    );
}

/// The report's status once it is done (or failed).
async fn finished(app: &TestApp, token: &str, location: &str) -> Value {
    testkit::eventually(
        Duration::from_secs(60),
        "the report to be rendered",
        async || {
            let s: Value = app.get(location, Some(token)).await.json();
            matches!(s["status"].as_str(), Some("done" | "failed")).then_some(s)
        },
    )
    .await
    .expect("a finished report")
}

#[tokio::test]
async fn a_pdf_report_is_a_job_whose_files_are_a_pdf_and_chart_images() {
    let app = TestApp::serve().await;
    some_sales(&app).await;
    let token = app.artisan();

    let r = report(
        &app,
        &token,
        json!({"title": "बिक्री रिपोर्ट — মাসিক বিক্রি — மாதாந்திர விற்பனை — నెలవారీ అమ్మకాలు",
               "metrics": ["revenue", "orders"], "dimensions": ["product"], "format": "pdf"}),
    )
    .await;

    r.assert_status(StatusCode::ACCEPTED);
    let location = r.header("location").unwrap().to_owned();
    let status = finished(&app, &token, &location).await;
    assert_eq!(status["status"], "done", "{status}");
    assert_eq!(status["progress"], 1.0);
    assert_eq!(status["pages"], 3);
    let names: Vec<&str> = status["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "report.pdf",
            "revenue.svg",
            "revenue.png",
            "orders.svg",
            "orders.png"
        ]
    );

    let pdf = app
        .get(status["files"][0]["url"].as_str().unwrap(), Some(&token))
        .await;
    pdf.assert_status(StatusCode::OK);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    let bytes = pdf.bytes.clone();
    assert!(bytes.starts_with(b"%PDF-"));
    let text = testkit::pdf::text(&bytes);
    for expected in [
        "बिक्री रिपोर्ट",
        "মাসিক বিক্রি",
        "மாதாந்திர விற்பனை",
        "నెలవారీ అమ్మకాలు",
        "कांथा रेशमी दुपट्टा",
        "₹2,500.00",
        "Blue pottery vase",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not in the PDF's text:\n{text}"
        );
    }
    let png = app
        .get(status["files"][2]["url"].as_str().unwrap(), Some(&token))
        .await;
    assert_eq!(png.header("content-type"), Some("image/png"));
    let image = image::load_from_memory(&png.bytes).expect("a PNG");
    assert_eq!((image.width(), image.height()), (1600, 800));
    let svg = app
        .get(status["files"][1]["url"].as_str().unwrap(), Some(&token))
        .await;
    let svg = String::from_utf8(svg.bytes.to_vec()).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains(r#"aria-label="Revenue by product""#));
    resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).expect("a valid SVG");

    // Someone else's report is not theirs to see.
    let other = app.token(OTHER_ARTISAN, common::Role::Artisan);
    app.get(&location, Some(&other))
        .await
        .assert_status(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_weekly_subscription_renders_its_first_report_now_keeps_it_and_announces_it() {
    let app = TestApp::serve().await;
    some_sales(&app).await;
    let token = app.artisan();
    let body = json!({"report": {"metrics": ["revenue"], "dimensions": ["week"]},
                      "email": "meera@example.in"});

    let created = app
        .post_json("/analytics/report-schedules", &body, Some(&token))
        .await;

    created.assert_status(StatusCode::CREATED);
    let schedule: Value = created.json();
    assert_eq!(schedule["delivery"], "email");
    let listed: Value = testkit::eventually(Duration::from_secs(10), "the first run", async || {
        let list: Value = app
            .get("/analytics/report-schedules", Some(&token))
            .await
            .json();
        (!list[0]["reports"].as_array()?.is_empty()).then_some(list)
    })
    .await
    .expect("a report queued");
    let report = listed[0]["reports"][0].as_str().unwrap();
    let status = finished(&app, &token, &format!("/analytics/reports/{report}")).await;
    assert_eq!(status["status"], "done", "{status}");
    // Announced once, for its email, with where it goes.
    let ready: Vec<events::v1::ReportReady> = app
        .outbox()
        .await
        .iter()
        .filter(|e| e.event_type == "report.ready")
        .map(|e| e.decode().unwrap())
        .collect();
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].report_id, report);
    assert_eq!(ready[0].email, "meera@example.in");
    assert_eq!(ready[0].schedule_id, schedule["id"].as_str().unwrap());
    assert!(ready[0].pages >= 1);
    // The next run is a week on.
    let next =
        chrono::DateTime::parse_from_rfc3339(listed[0]["next_run"].as_str().unwrap()).unwrap();
    assert!(next > chrono::Utc::now() + chrono::Duration::days(6));
    // Another artisan cannot stop it; its owner can.
    let id = schedule["id"].as_str().unwrap();
    let other = app.token(OTHER_ARTISAN, common::Role::Artisan);
    app.delete(&format!("/analytics/report-schedules/{id}"), Some(&other))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.delete(&format!("/analytics/report-schedules/{id}"), Some(&token))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let bad = app
        .post_json(
            "/analytics/report-schedules",
            &json!({"report": {"metrics": ["revenue"]}, "email": "not an email"}),
            Some(&token),
        )
        .await;
    bad.assert_invalid_fields(&["email"]);
}
