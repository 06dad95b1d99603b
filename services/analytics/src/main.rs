//! The analytics service's own binary (its container runs this).

common::service_main!(analytics);
