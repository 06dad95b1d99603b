//! HTTP tests of the product service, in process (a real port only where
//! background work matters): one module per resource.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bounds;
mod changes;
mod clients;
mod engagement;
mod events;
mod fakes;
mod helpers;
mod listing;
mod openapi;
mod order_status;
mod orders;
mod paying;
mod payments;
mod payments_refunds;
mod payments_webhooks;
mod products;
mod pushes;
mod search;
mod snapshots;
mod stories;
mod visibility;
