//! SEO keywords by TF-IDF: a product's candidate terms — words and
//! two-word phrases that neither cross punctuation nor contain a stop word
//! (RAKE's candidate rule) — weighed by how often the product's text uses
//! them against how many listings of its category do (smoothed inverse
//! document frequency, `ln((1 + N) / (1 + df)) + 1`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Distinct terms kept per listing.
pub const MAX_TERMS_PER_DOCUMENT: usize = 300;
/// Keywords returned.
pub const MAX_KEYWORDS: usize = 10;

/// Words that carry no search intent (English, and the commonest Hindi,
/// Bengali and Marathi function words).
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "also",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "but",
    "by",
    "can",
    "each",
    "every",
    "for",
    "from",
    "has",
    "have",
    "he",
    "her",
    "his",
    "how",
    "i",
    "in",
    "into",
    "is",
    "it",
    "its",
    "made",
    "make",
    "makes",
    "many",
    "more",
    "most",
    "my",
    "no",
    "not",
    "of",
    "on",
    "one",
    "or",
    "our",
    "out",
    "over",
    "own",
    "per",
    "piece",
    "she",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "up",
    "us",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "which",
    "while",
    "who",
    "will",
    "with",
    "within",
    "you",
    "your",
    "days",
    "day",
    "takes",
    "take",
    "approximately",
    "around",
    "का",
    "की",
    "के",
    "और",
    "में",
    "है",
    "हैं",
    "मेरा",
    "मेरी",
    "मेरे",
    "अपना",
    "अपनी",
    "हम",
    "से",
    "को",
    "पर",
    "यह",
    "एक",
    "लिए",
    "भी",
    "या",
    "তে",
    "এবং",
    "এই",
    "একটি",
    "ও",
    "आणि",
    "हे",
    "व",
];

fn is_stop(word: &str) -> bool {
    STOP_WORDS.contains(&word)
}

/// Whether `c` belongs inside a word: letters, digits, and the whole of
/// the Brahmic blocks (vowel signs and viramas are marks, not letters)
/// except the danda, plus the zero-width joiners those scripts use.
fn word_char(c: char) -> bool {
    c.is_alphanumeric()
        || (('\u{0900}'..='\u{0DFF}').contains(&c) && c != '\u{0964}' && c != '\u{0965}')
        || c == '\u{200C}'
        || c == '\u{200D}'
}

/// The text's phrases (runs of words between punctuation and stop words),
/// lowercased; ASCII words of one or two letters, and numbers, end a
/// phrase too.
fn phrases(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut word = String::new();
    let flush_word = |word: &mut String, current: &mut Vec<String>, out: &mut Vec<Vec<String>>| {
        if word.is_empty() {
            return;
        }
        let w = std::mem::take(word).to_lowercase();
        let useless = is_stop(&w)
            || w.chars().all(|c| c.is_ascii_digit())
            || (w.chars().count() < 3 && w.is_ascii());
        if useless {
            if !current.is_empty() {
                out.push(std::mem::take(current));
            }
        } else {
            current.push(w);
        }
    };
    for c in text.chars() {
        if word_char(c) {
            word.push(c);
        } else {
            flush_word(&mut word, &mut current, &mut out);
            if !c.is_whitespace() && c != '-' && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        }
    }
    flush_word(&mut word, &mut current, &mut out);
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Each candidate term of `text` with how often it occurs: every word of a
/// phrase, and every two adjacent words.
fn term_counts(text: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for phrase in phrases(text) {
        for w in &phrase {
            *counts.entry(w.clone()).or_default() += 1;
        }
        for pair in phrase.windows(2) {
            *counts
                .entry(format!("{} {}", pair[0], pair[1]))
                .or_default() += 1;
        }
    }
    counts
}

/// The distinct terms of `text` (its most frequent, at most
/// [`MAX_TERMS_PER_DOCUMENT`]), as a listing's entry in the corpus.
pub fn distinct_terms(text: &str) -> Vec<String> {
    let mut counts: Vec<(String, usize)> = term_counts(text).into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts.truncate(MAX_TERMS_PER_DOCUMENT);
    counts.into_iter().map(|(t, _)| t).collect()
}

/// A keyword and why it was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Keyword {
    pub keyword: String,
    /// TF-IDF, scaled so the best keyword is 1.
    pub score: f64,
    /// Times in the product's text.
    pub occurrences: usize,
    /// Listings of the category using it.
    pub listings_using: usize,
}

/// The keywords and the corpus they were weighed against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Keywords {
    /// `tf-idf`.
    pub method: String,
    /// Listings in the category's corpus.
    pub corpus_listings: usize,
    pub keywords: Vec<Keyword>,
}

/// The best [`MAX_KEYWORDS`] keywords of `text` against `corpus` (each
/// listing's distinct terms). A two-word phrase beats its words on a tie;
/// a word inside a chosen phrase is left out unless it scores higher.
pub fn extract(text: &str, corpus: &[Vec<String>]) -> Keywords {
    let counts = term_counts(text);
    let wanted: BTreeSet<&str> = counts.keys().map(String::as_str).collect();
    let mut df: HashMap<&str, usize> = HashMap::new();
    for doc in corpus {
        for t in doc {
            if wanted.contains(t.as_str()) {
                *df.entry(t.as_str()).or_default() += 1;
            }
        }
    }
    let n = corpus.len() as f64;
    let mut scored: Vec<(String, f64, usize, usize)> = counts
        .iter()
        .map(|(t, &tf)| {
            let d = df.get(t.as_str()).copied().unwrap_or(0);
            let idf = ((1.0 + n) / (1.0 + d as f64)).ln() + 1.0;
            // Phrases are rarer than words by construction; weigh them by
            // their length so a phrase and its words compete fairly.
            let words = t.split(' ').count() as f64;
            (t.clone(), tf as f64 * idf * words.sqrt(), tf, d)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut chosen: Vec<(String, f64, usize, usize)> = Vec::new();
    for candidate in scored {
        if chosen.len() == MAX_KEYWORDS {
            break;
        }
        let inside_chosen = chosen
            .iter()
            .any(|c| c.0.split(' ').any(|w| w == candidate.0));
        if !inside_chosen {
            chosen.push(candidate);
        }
    }
    let best = chosen.first().map_or(1.0, |c| c.1);
    Keywords {
        method: "tf-idf".to_owned(),
        corpus_listings: corpus.len(),
        keywords: chosen
            .into_iter()
            .map(|(keyword, score, occurrences, listings_using)| Keyword {
                keyword,
                score: (score / best * 1000.0).round() / 1000.0,
                occurrences,
                listings_using,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_stop_at_stop_words_and_punctuation() {
        assert_eq!(
            phrases("Hand block printed cotton, with natural indigo dyes."),
            vec![
                vec!["hand", "block", "printed", "cotton"],
                vec!["natural", "indigo", "dyes"]
            ]
        );
    }

    #[test]
    fn indic_words_keep_their_vowel_signs_and_conjuncts() {
        assert_eq!(
            phrases("हस्तनिर्मित मिट्टी का बर्तन।"),
            vec![vec!["हस्तनिर्मित", "मिट्टी"], vec!["बर्तन"]]
        );
    }

    #[test]
    fn a_term_every_listing_uses_ranks_below_a_distinctive_one() {
        let corpus: Vec<Vec<String>> = (0..50)
            .map(|i| {
                let mut t = distinct_terms("Handmade cotton saree");
                if i < 2 {
                    t.extend(distinct_terms("ajrakh"));
                }
                t
            })
            .collect();
        let k = extract("Ajrakh cotton saree. Ajrakh printing from Kutch.", &corpus);
        assert_eq!(k.keywords[0].keyword, "ajrakh");
        let score = |w: &str| k.keywords.iter().find(|k| k.keyword == w).map(|k| k.score);
        assert!(score("ajrakh") > score("cotton"), "{k:?}");
        assert_eq!(k.corpus_listings, 50);
        assert!(k.keywords.len() <= MAX_KEYWORDS);
    }

    #[test]
    fn an_empty_corpus_still_ranks_by_frequency() {
        let k = extract("Terracotta lamp. Terracotta diya.", &[]);
        assert_eq!(k.keywords[0].keyword, "terracotta");
        assert_eq!(k.keywords[0].occurrences, 2);
    }
}
