//! Matching, ranking, filtering, paging and highlighting.

use super::{doc, filtered, ids, open, request, search_ids, with_description};
use crate::search::{SearchFilters, SearchIndex, SearchRequest};

#[tokio::test]
async fn english_words_match_other_forms_and_ignore_stop_words() {
    let (_dir, index) = open();
    index
        .upsert(with_description(
            doc("p1", "Hand-woven sarees"),
            "en",
            "Weavers of Varanasi weaving on pit looms",
        ))
        .await
        .unwrap();

    assert_eq!(search_ids(&index, &request("saree")).await, ["p1"]);
    assert_eq!(search_ids(&index, &request("weave loom")).await, ["p1"]);
    assert_eq!(
        search_ids(&index, &request("the sarees of varanasi")).await,
        ["p1"]
    );
    assert!(
        search_ids(&index, &request("saree pottery"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn hindi_words_of_a_description_are_found() {
    let (_dir, index) = open();
    index
        .upsert(with_description(
            doc("p1", "Banarasi saree"),
            "hi",
            "यह हाथ से बुनी हुई बनारसी रेशमी साड़ी है।",
        ))
        .await
        .unwrap();
    index
        .upsert(with_description(
            doc("p2", "Lamp"),
            "hi",
            "पीतल का हस्तनिर्मित दीपक",
        ))
        .await
        .unwrap();

    assert_eq!(search_ids(&index, &request("बनारसी")).await, ["p1"]);
    assert_eq!(search_ids(&index, &request("रेशमी साड़ी")).await, ["p1"]);
    assert_eq!(search_ids(&index, &request("\"हाथ से बुनी\"")).await, ["p1"]);
    assert_eq!(search_ids(&index, &request("हस्तनिर्मित")).await, ["p2"]);
    // A fragment of a word is not the word.
    assert!(search_ids(&index, &request("साड")).await.is_empty());
}

#[tokio::test]
async fn bengali_tamil_and_unlisted_languages_are_found() {
    let (_dir, index) = open();
    let mut quilt = with_description(doc("p1", "Kantha quilt"), "bn", "হাতে সেলাই করা নকশি কাঁথা");
    quilt
        .description
        .insert("ta".to_string(), "கைத்தறி பட்டுப் புடவை".to_string());
    quilt
        .description
        .insert("gu-IN".to_string(), "હાથથી બનાવેલી રજાઈ".to_string());
    index.upsert(quilt).await.unwrap();

    assert_eq!(search_ids(&index, &request("কাঁথা")).await, ["p1"]);
    assert_eq!(search_ids(&index, &request("கைத்தறி")).await, ["p1"]);
    assert_eq!(search_ids(&index, &request("રજાઈ")).await, ["p1"]);
}

#[tokio::test]
async fn a_title_match_ranks_above_a_description_match() {
    let (_dir, index) = open();
    index
        .upsert(with_description(
            doc("desc", "Shawl"),
            "en",
            "A pashmina shawl",
        ))
        .await
        .unwrap();
    index.upsert(doc("title", "Pashmina wrap")).await.unwrap();

    let results = index.search(&request("pashmina")).await.unwrap();
    assert_eq!(ids(&results), ["title", "desc"]);
    assert!(results.hits[0].score > results.hits[1].score);
}

#[tokio::test]
async fn every_filter_narrows_the_results() {
    let (_dir, index) = open();
    let mut a = doc("a", "Silk saree");
    a.materials = vec!["Silk".to_string(), "Zari".to_string()];
    a.price = 5_000;
    let mut b = doc("b", "Cotton saree");
    b.materials = vec!["cotton".to_string()];
    b.category = "apparel".to_string();
    b.subcategory = "dupattas".to_string();
    b.region = "west-bengal".to_string();
    b.artisan_id = "artisan-2".to_string();
    b.price = 1_500;
    let mut c = doc("c", "Deleted saree");
    c.status = "deleted".to_string();
    let mut d = doc("d", "Draft saree");
    d.status = "draft".to_string();
    d.price = 9_000;
    index.rebuild(vec![a, b, c, d]).await.unwrap();

    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let find = |filters: SearchFilters| {
        let index = index.clone();
        async move { sorted(search_ids(&index, &filtered("saree", filters)).await) }
    };
    assert_eq!(find(SearchFilters::default()).await, ["a", "b", "d"]);
    let f = SearchFilters {
        category: Some("apparel".into()),
        ..Default::default()
    };
    assert_eq!(find(f).await, ["b"]);
    let f = SearchFilters {
        subcategory: Some("dupattas".into()),
        ..Default::default()
    };
    assert_eq!(find(f).await, ["b"]);
    let f = SearchFilters {
        region: Some("west-bengal".into()),
        ..Default::default()
    };
    assert_eq!(find(f).await, ["b"]);
    let f = SearchFilters {
        artisan_id: Some("artisan-1".into()),
        ..Default::default()
    };
    assert_eq!(find(f).await, ["a", "d"]);
    let f = SearchFilters {
        material: Some("SILK".into()),
        ..Default::default()
    };
    assert_eq!(find(f).await, ["a"]);
    let f = SearchFilters {
        material: Some("Cotton".into()),
        ..Default::default()
    };
    assert_eq!(find(f).await, ["b"]);
    let f = SearchFilters {
        min_price: Some(1_500),
        max_price: Some(5_000),
        ..Default::default()
    };
    assert_eq!(find(f).await, ["a", "b"]);
    let f = SearchFilters {
        min_price: Some(5_001),
        ..Default::default()
    };
    assert_eq!(find(f).await, ["d"]);
    let f = SearchFilters {
        max_price: Some(1_000),
        ..Default::default()
    };
    assert!(find(f).await.is_empty());
    let f = SearchFilters {
        status: Some("deleted".into()),
        ..Default::default()
    };
    assert_eq!(find(f).await, ["c"]);
    let f = SearchFilters {
        status: Some("draft".into()),
        ..Default::default()
    };
    assert_eq!(find(f).await, ["d"]);
    let f = SearchFilters {
        category: Some("textiles".into()),
        material: Some("zari".into()),
        min_price: Some(10),
        ..Default::default()
    };
    assert_eq!(find(f).await, ["a"]);
}

#[tokio::test]
async fn empty_text_lists_matching_documents_newest_first() {
    let (_dir, index) = open();
    let mut docs = Vec::new();
    for (id, created) in [("old", 10), ("new", 30), ("mid", 20)] {
        let mut d = doc(id, "Item");
        d.created_at_us = created;
        docs.push(d);
    }
    let mut gone = doc("gone", "Item");
    gone.created_at_us = 40;
    gone.status = "deleted".to_string();
    docs.push(gone);
    index.rebuild(docs).await.unwrap();

    let results = index.search(&request("  ")).await.unwrap();
    assert_eq!(ids(&results), ["new", "mid", "old"]);
    assert_eq!(results.total, 3);
    assert!(results.hits.iter().all(|hit| hit.highlights.is_empty()));

    let page = SearchRequest {
        limit: 1,
        offset: 1,
        ..request("")
    };
    let results = index.search(&page).await.unwrap();
    assert_eq!(ids(&results), ["mid"]);
    assert_eq!(results.total, 3);
}

#[tokio::test]
async fn paging_walks_the_ranking_and_counts_every_match() {
    let (_dir, index) = open();
    let docs = (0..25)
        .map(|i| doc(&format!("p{i:02}"), "Clay pot"))
        .collect();
    index.rebuild(docs).await.unwrap();

    let mut seen = Vec::new();
    for offset in [0, 10, 20] {
        let page = SearchRequest {
            limit: 10,
            offset,
            ..request("pot")
        };
        let results = index.search(&page).await.unwrap();
        assert_eq!(results.total, 25);
        seen.extend(ids(&results).into_iter().map(str::to_string));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);

    for (limit, offset) in [
        (0, 0),
        (10, usize::MAX),
        (usize::MAX, 0),
        (usize::MAX, usize::MAX),
    ] {
        let page = SearchRequest {
            limit,
            offset,
            ..request("pot")
        };
        let results = index.search(&page).await.unwrap();
        assert_eq!(results.total, 25, "limit {limit} offset {offset}");
        assert!(results.hits.len() <= 25);
    }
}

#[tokio::test]
async fn highlights_mark_the_matched_words() {
    let (_dir, index) = open();
    let mut d = with_description(
        doc("p1", "Banarasi silk saree"),
        "hi",
        "यह हाथ से बुनी हुई बनारसी रेशमी साड़ी है",
    );
    d.description.insert(
        "en".to_string(),
        "Woven in Varanasi from pure silk".to_string(),
    );
    d.cultural_story = "Silk weaving in Banaras dates back <centuries>".to_string();
    index.upsert(d).await.unwrap();

    let results = index.search(&request("silk")).await.unwrap();
    let highlights = &results.hits[0].highlights;
    assert_eq!(highlights["title"], "Banarasi <b>silk</b> saree");
    assert_eq!(
        highlights["description.en"],
        "Woven in Varanasi from pure <b>silk</b>"
    );
    // HTML in the text is escaped; the snippet ends with the last word.
    assert_eq!(
        highlights["cultural_story"],
        "<b>Silk</b> weaving in Banaras dates back &lt;centuries"
    );
    assert!(!highlights.contains_key("description.hi"));

    let results = index.search(&request("बनारसी")).await.unwrap();
    let highlights = &results.hits[0].highlights;
    assert_eq!(
        highlights.keys().collect::<Vec<_>>(),
        ["description.hi"],
        "{highlights:?}"
    );
    assert!(highlights["description.hi"].contains("<b>बनारसी</b>"));
}

#[tokio::test]
async fn hostile_text_never_fails() {
    let (_dir, index) = open();
    index.upsert(doc("p1", "Silk saree")).await.unwrap();

    let junk: String = (0..10_240)
        .map(|i| {
            [
                '"', '(', ')', ':', '*', '^', '~', '\\', '[', '{', 'x', ' ', '-', 'ह', '्',
            ][i % 15]
        })
        .collect();
    let many_words: String = (0..2_000).map(|i| format!("w{i} ")).collect();
    let hostile = [
        "\"",
        "silk \"",
        "(",
        "((((silk",
        ")",
        "title:",
        "title:*",
        "id:p1",
        "exact_status:deleted",
        "price:[0 TO 10]",
        "price:>10",
        "a:b",
        "*",
        "silk^1e308",
        "silk^NaN",
        "\"silk saree\"~4294967295",
        "silk*",
        "\"sil\"*",
        "/si.*/",
        "IN [a b]",
        "-silk",
        "- + AND OR NOT",
        "\u{0}\u{FFFF}\u{200D}",
        junk.as_str(),
        many_words.as_str(),
    ];
    for text in hostile {
        let result = index.search(&request(text)).await;
        assert!(result.is_ok(), "{text:?}: {result:?}");
    }
    // Unknown fields read as words; known full-text fields work.
    assert!(search_ids(&index, &request("a:b")).await.is_empty());
    assert_eq!(search_ids(&index, &request("title:silk")).await, ["p1"]);
    assert_eq!(search_ids(&index, &request("silk:saree")).await, ["p1"]);
    assert_eq!(search_ids(&index, &request("silk saree^5")).await, ["p1"]);

    let mut odd = doc(&"x".repeat(70_000), &junk);
    odd.category = "y".repeat(100_000);
    assert!(index.upsert(odd).await.is_err());
    let mut odd = doc("odd", &junk);
    odd.category = "y".repeat(100_000);
    odd.materials = vec![junk.clone()];
    index.upsert(odd).await.unwrap();
    assert_eq!(index.stats().await.unwrap().docs, 2);
}
