//! Readability. English: Flesch reading ease, `206.835 − 1.015 × words
//! per sentence − 84.6 × syllables per word`, syllables counted as vowel
//! groups (a final silent `e` dropped). Flesch is defined for English only;
//! for the Indic scripts the same two quantities are measured — words per
//! sentence, and aksharas (written syllables) per word — and no score is
//! invented from them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What was measured of a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Readability {
    /// `flesch_reading_ease` (English) or `akshara_counts` (Indic scripts).
    pub method: String,
    /// Flesch reading ease (English only).
    pub score: Option<f64>,
    /// Flesch's band (`easy`, `standard`, `difficult`, …), English only.
    pub band: Option<String>,
    pub sentences: usize,
    pub words: usize,
    pub words_per_sentence: f64,
    /// Syllables (English) or aksharas (Indic) per word.
    pub syllables_per_word: f64,
    pub note: Option<String>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Sentences end at `.`, `!`, `?` and the danda.
fn sentences(text: &str) -> usize {
    text.split(['.', '!', '?', '\u{0964}', '\u{0965}'])
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .count()
        .max(1)
}

fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| c.is_whitespace() || ",;:()\"".contains(c))
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect()
}

/// English syllables: groups of vowels (y included), a final silent `e`
/// not counted (but `-le` is), at least one.
fn english_syllables(word: &str) -> usize {
    let w: Vec<char> = word
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let vowel = |c: char| "aeiouy".contains(c);
    let mut groups = 0;
    let mut previous = false;
    for &c in &w {
        let v = vowel(c);
        if v && !previous {
            groups += 1;
        }
        previous = v;
    }
    let n = w.len();
    if n > 2 && w[n - 1] == 'e' && !vowel(w[n - 2]) && w[n - 2] != 'l' && groups > 1 {
        groups -= 1;
    }
    groups.max(1)
}

/// Aksharas in a word of a Brahmic script: independent vowels and
/// consonants, except a consonant joined to the one before by a virama
/// (a conjunct is one akshara). The blocks share the ISCII layout, so the
/// offsets within each 128-code-point block say what a character is.
fn aksharas(word: &str) -> usize {
    let mut count = 0;
    let mut after_virama = false;
    for c in word.chars() {
        let code = u32::from(c);
        if !(0x0900..=0x0DFF).contains(&code) {
            after_virama = false;
            continue;
        }
        let offset = (code - 0x0900) % 0x80;
        let letter = (0x05..=0x39).contains(&offset) || (0x58..=0x61).contains(&offset);
        if letter && !after_virama {
            count += 1;
        }
        after_virama = offset == 0x4D;
    }
    count.max(1)
}

/// Flesch's bands.
fn band(score: f64) -> &'static str {
    match score {
        s if s >= 90.0 => "very_easy",
        s if s >= 80.0 => "easy",
        s if s >= 70.0 => "fairly_easy",
        s if s >= 60.0 => "standard",
        s if s >= 50.0 => "fairly_difficult",
        s if s >= 30.0 => "difficult",
        _ => "very_difficult",
    }
}

/// Measure `text`, written in `language`.
pub fn measure(text: &str, language: &str) -> Readability {
    let s = sentences(text);
    let ws = words(text);
    let n = ws.len().max(1);
    let wps = ws.len() as f64 / s as f64;
    if language == "en" {
        let syllables: usize = ws.iter().map(|w| english_syllables(w)).sum();
        let spw = syllables as f64 / n as f64;
        let score = 206.835 - 1.015 * wps - 84.6 * spw;
        Readability {
            method: "flesch_reading_ease".to_owned(),
            score: Some(round2(score)),
            band: Some(band(score).to_owned()),
            sentences: s,
            words: ws.len(),
            words_per_sentence: round2(wps),
            syllables_per_word: round2(spw),
            note: None,
        }
    } else {
        let count: usize = ws.iter().map(|w| aksharas(w)).sum();
        Readability {
            method: "akshara_counts".to_owned(),
            score: None,
            band: None,
            sentences: s,
            words: ws.len(),
            words_per_sentence: round2(wps),
            syllables_per_word: round2(count as f64 / n as f64),
            note: Some(
                "Flesch reading ease is defined for English; for this script the words per sentence and aksharas (written syllables) per word are measured, and no score is derived from them".to_owned(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_syllables_follow_the_vowel_groups() {
        assert_eq!(english_syllables("cat"), 1);
        assert_eq!(english_syllables("handmade"), 2);
        assert_eq!(english_syllables("table"), 2);
        assert_eq!(english_syllables("terracotta"), 4);
        assert_eq!(english_syllables("indigo"), 3);
    }

    #[test]
    fn short_plain_sentences_read_easier_than_long_latinate_ones() {
        let plain = measure("The pot is red. It holds water. We made it by hand.", "en");
        let dense = measure(
            "Meticulously handcrafted terracotta vessels exemplify generations of accumulated artisanal sophistication, characteristically incorporating indigenous decorative iconography.",
            "en",
        );
        assert_eq!(plain.sentences, 3);
        assert_eq!(plain.words, 12);
        assert!(plain.score > dense.score, "{plain:?} {dense:?}");
        assert_eq!(plain.band.as_deref(), Some("very_easy"));
        assert_eq!(dense.band.as_deref(), Some("very_difficult"));
    }

    #[test]
    fn indic_text_is_measured_in_aksharas_without_a_flesch_score() {
        // ट्ट is one akshara (a conjunct): मि + ट्टी, two.
        assert_eq!(aksharas("मिट्टी"), 2);
        assert_eq!(aksharas("कला"), 2);
        assert_eq!(aksharas("হাতে"), 2);
        let r = measure("मिट्टी का बर्तन। हाथ से बना।", "hi");
        assert_eq!(r.score, None);
        assert_eq!(r.sentences, 2);
        assert_eq!(r.words, 6);
        assert!(r.note.is_some());
    }
}
