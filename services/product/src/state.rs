//! The product service's state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::FromRef;
use common::identity::Authenticator;
use events::Publisher;
use store::{Collection, Store};

use crate::domain::clients::{MediaApi, MlApi};
use crate::domain::orders::Order;
use crate::domain::products::{Engagement, Product};
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
    pub views: Arc<Mutex<HashMap<String, u64>>>,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
