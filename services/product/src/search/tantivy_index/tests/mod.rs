//! Behaviour of [`TantivyIndex`] on real on-disk indexes: shared helpers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lifecycle;
mod search;

use std::collections::BTreeMap;

use tempfile::TempDir;

use super::TantivyIndex;
use crate::search::{SearchDoc, SearchFilters, SearchIndex, SearchRequest, SearchResults};

fn doc(id: &str, title: &str) -> SearchDoc {
    SearchDoc {
        id: id.to_string(),
        title: title.to_string(),
        description: BTreeMap::new(),
        materials: Vec::new(),
        category: "textiles".to_string(),
        subcategory: "sarees".to_string(),
        craft_tradition: String::new(),
        cultural_story: String::new(),
        region: "uttar-pradesh".to_string(),
        artisan_id: "artisan-1".to_string(),
        status: "active".to_string(),
        price: 1_000,
        currency: "INR".to_string(),
        created_at_us: 1,
        updated_at_us: 1,
    }
}

fn with_description(mut doc: SearchDoc, language: &str, text: &str) -> SearchDoc {
    doc.description
        .insert(language.to_string(), text.to_string());
    doc
}

fn request(text: &str) -> SearchRequest {
    SearchRequest {
        text: text.to_string(),
        filters: SearchFilters::default(),
        limit: 20,
        offset: 0,
    }
}

fn filtered(text: &str, filters: SearchFilters) -> SearchRequest {
    SearchRequest {
        filters,
        ..request(text)
    }
}

fn ids(results: &SearchResults) -> Vec<&str> {
    results.hits.iter().map(|hit| hit.id.as_str()).collect()
}

fn open() -> (TempDir, TantivyIndex) {
    let dir = TempDir::new().unwrap();
    let index = TantivyIndex::open(dir.path()).unwrap();
    (dir, index)
}

async fn search_ids(index: &TantivyIndex, request: &SearchRequest) -> Vec<String> {
    let results = index.search(request).await.unwrap();
    assert_eq!(results.total, results.hits.len(), "{request:?}");
    ids(&results).into_iter().map(str::to_string).collect()
}
