//! Only buyers of completed orders review, once per product.

use http::StatusCode;
use serde_json::json;

use crate::helpers::{completed, spawn};

#[tokio::test]
async fn a_buyer_reviews_a_completed_order_once() {
    let app = spawn().await;
    let body = json!({"product_id": "p1", "stars": 5, "text": "Lovely weave"});
    let early = app.post_json("/reviews", &body, Some(&app.buyer())).await;
    early.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    app.push("e1", "o1", &completed("p1"))
        .await
        .assert_status(StatusCode::OK);
    let first = app.post_json("/reviews", &body, Some(&app.buyer())).await;
    first.assert_status(StatusCode::CREATED);
    let again = app.post_json("/reviews", &body, Some(&app.buyer())).await;
    again.assert_problem(StatusCode::CONFLICT, "already_reviewed");
}
