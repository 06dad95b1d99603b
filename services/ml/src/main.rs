//! The ML service's own binary (its container runs this).

common::service_main!(ml);
