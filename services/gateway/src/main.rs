//! The gateway's own binary (its container runs this).

common::service_main!(gateway);
