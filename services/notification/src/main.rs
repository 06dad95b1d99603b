//! The notification service's own binary (its container runs this).

common::service_main!(notification);
