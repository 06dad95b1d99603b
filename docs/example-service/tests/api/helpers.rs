//! The reviews service under test, and its fixtures.

use events::v1::OrderCompleted;
use testkit::TestService;
use testkit::users::BUYER;

/// The service in process, over a fresh data directory.
pub(crate) async fn spawn() -> TestService {
    TestService::builder(reviews::NAME)
        .start(|shared, auth| async move {
            let config = reviews::Config {
                shared,
                service: Default::default(),
            };
            reviews::build_with(&config, auth).await
        })
        .await
}

/// `order.completed` for BUYER's order of `product_id`.
pub(crate) fn completed(product_id: &str) -> OrderCompleted {
    OrderCompleted {
        order_id: format!("order-{product_id}"),
        product_id: product_id.to_owned(),
        buyer_id: BUYER.to_owned(),
        ..Default::default()
    }
}
