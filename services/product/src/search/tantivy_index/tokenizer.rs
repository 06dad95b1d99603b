//! A word tokenizer that keeps Indic words whole.
//!
//! tantivy's `SimpleTokenizer` ends a token at the first char that is not
//! `char::is_alphanumeric`. Most Indic vowel signs are alphabetic, but the
//! virama (`्`, U+094D) and the nukta (`़`, U+093C) are not, so it cuts
//! "हस्तनिर्मित" into "हस", "तनिर", "मित" and "साड़ी" into "साड", "ी". This
//! tokenizer splits on whitespace and punctuation only: alphanumerics,
//! combining marks and every char of the Indic script blocks (except the
//! danda sentence stops) belong to words; the zero-width (non-)joiners are
//! kept inside a word but dropped from its text, so spellings with and
//! without them meet.

use std::str::CharIndices;

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Splits text into words; see the module documentation.
#[derive(Clone, Default)]
pub(crate) struct WordTokenizer {
    token: Token,
}

/// The stream of words of one text.
pub(crate) struct WordTokenStream<'a> {
    text: &'a str,
    chars: CharIndices<'a>,
    token: &'a mut Token,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordTokenStream<'a> {
        self.token.reset();
        WordTokenStream {
            text,
            chars: text.char_indices(),
            token: &mut self.token,
        }
    }
}

impl TokenStream for WordTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        while let Some((offset_from, c)) = self.chars.next() {
            if !is_word_char(c) {
                continue;
            }
            let offset_to = self
                .chars
                .find(|&(_, c)| !is_word_char(c))
                .map_or(self.text.len(), |(offset, _)| offset);
            let word = self.text.get(offset_from..offset_to).unwrap_or_default();
            self.token
                .text
                .extend(word.chars().filter(|&c| !is_joiner(c)));
            if self.token.text.is_empty() {
                // Only joiners: not a word.
                continue;
            }
            self.token.position = self.token.position.wrapping_add(1);
            self.token.offset_from = offset_from;
            self.token.offset_to = offset_to;
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Whether `c` belongs to a word.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_joiner(c) || is_mark_or_indic(c)
}

/// Zero-width non-joiner and joiner, used inside Indic words.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// Combining marks and the Indic script blocks (Devanagari to Sinhala, and
/// the Vedic and Devanagari extensions), less the danda and double danda.
fn is_mark_or_indic(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{0900}'..='\u{0963}'
            | '\u{0966}'..='\u{0DFF}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1CD0}'..='\u{1CFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{A8E0}'..='\u{A8FF}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

#[cfg(test)]
mod tests {
    use tantivy::tokenizer::{SimpleTokenizer, TextAnalyzer};

    use super::WordTokenizer;

    fn words(analyzer: impl Into<TextAnalyzer>, text: &str) -> Vec<String> {
        let mut analyzer: TextAnalyzer = analyzer.into();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        stream.process(&mut |token| out.push(token.text.clone()));
        out
    }

    #[test]
    fn simple_tokenizer_cuts_hindi_words_at_virama_and_nukta() {
        // Why this module exists; if tantivy ever fixes it, this fails.
        let cut = words(SimpleTokenizer::default(), "हस्तनिर्मित साड़ी");
        assert_ne!(cut, vec!["हस्तनिर्मित", "साड़ी"]);
    }

    #[test]
    fn keeps_indic_words_whole_and_splits_on_punctuation() {
        let text = "यह हाथ से बुनी हुई बनारसी रेशमी साड़ी है। हस्तनिर्मित, (কাঁথা) \"கைத்தறி\" పట్టు";
        assert_eq!(
            words(WordTokenizer::default(), text),
            vec![
                "यह",
                "हाथ",
                "से",
                "बुनी",
                "हुई",
                "बनारसी",
                "रेशमी",
                "साड़ी",
                "है",
                "हस्तनिर्मित",
                "কাঁথা",
                "கைத்தறி",
                "పట్టు"
            ]
        );
    }

    #[test]
    fn splits_latin_text_like_the_default_tokenizer() {
        assert_eq!(
            words(WordTokenizer::default(), "Hand-woven silk, 100% pure!"),
            vec!["Hand", "woven", "silk", "100", "pure"]
        );
    }

    #[test]
    fn drops_joiners_from_word_text_and_keeps_offsets() {
        let text = "a \u{200C} क्\u{200D}ष";
        let mut analyzer: TextAnalyzer = WordTokenizer::default().into();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        stream.process(&mut |t| out.push((t.text.clone(), t.offset_from, t.offset_to, t.position)));
        assert_eq!(
            out,
            vec![
                ("a".to_string(), 0, 1, 0),
                ("क्ष".to_string(), 6, text.len(), 1)
            ]
        );
    }
}
