//! The product service's state: what every handler and background task
//! shares.

use std::sync::Arc;

use axum::extract::FromRef;
use common::identity::Authenticator;
use events::{Publisher, ServiceBase};
use store::{Collection, Store};

use crate::Deps;
use crate::config::Settings;
use crate::domain::clients::{MediaApi, MlApi};
use crate::domain::engagement::{Engagement, ViewCounts};
use crate::domain::orders::Order;
use crate::domain::payments::Payments;
use crate::domain::products::Product;
use crate::domain::snapshots::Snapshots;
use crate::search::SearchIndex;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub products: Collection<Product>,
    pub engagement: Collection<Engagement>,
    pub orders: Collection<Order>,
    pub search: Arc<dyn SearchIndex>,
    pub media: Arc<dyn MediaApi>,
    pub ml: Arc<dyn MlApi>,
    pub auth: Arc<Authenticator>,
    pub publisher: Publisher,
    /// Views counted since the last flush, by product.
    pub views: Arc<ViewCounts>,
    /// How buyers pay.
    pub payments: Arc<Payments>,
    /// Where the search index's snapshots are kept, when configured.
    pub snapshots: Option<Arc<Snapshots>>,
}

impl AppState {
    /// The state over `base`'s store, with `search` and the peers of `deps`.
    pub fn new(
        base: &ServiceBase,
        search: Arc<dyn SearchIndex>,
        deps: Deps,
        settings: &Settings,
    ) -> Self {
        let store = base.store().clone();
        Self {
            products: store.collection(),
            engagement: store.collection(),
            orders: store.collection(),
            store,
            search,
            media: deps.media,
            ml: deps.ml,
            auth: deps.auth,
            publisher: base.publisher(),
            views: Arc::default(),
            payments: Arc::new(Payments::new(settings, Some(deps.escrow))),
            snapshots: None,
        }
    }
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
