//! The index schema, its text analyzers and the mapping of a [`SearchDoc`]
//! to a tantivy document.
//!
//! Changing a field or an analyzer here must change the schema (rename the
//! analyzer: its name is stored in the schema), so that an index written by
//! an older build is wiped and rebuilt at open instead of being misread.

use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, Stemmer, StopWordFilter, TextAnalyzer, TokenizerManager,
};
use tantivy::{Index, TantivyDocument};

use super::tokenizer::WordTokenizer;
use crate::search::SearchDoc;

/// Analyzer of text in any language: words, lowercased, English stop words
/// removed (on every text field alike, so that a conjunctive query never
/// requires a stop word that one field kept and another dropped).
const TEXT_ANALYZER: &str = "craft_text_v1";
/// [`TEXT_ANALYZER`] plus English stemming (title, English description,
/// materials, category).
const ENGLISH_ANALYZER: &str = "craft_en_v1";
/// Longest indexed word in bytes (40 Devanagari chars).
const MAX_WORD_BYTES: usize = 120;

/// Description languages with a field of their own.
pub(crate) const DESCRIPTION_LANGUAGES: [&str; 6] = ["en", "hi", "bn", "ta", "te", "mr"];
/// Suffix of the description field holding every other language.
pub(crate) const OTHER_LANGUAGE: &str = "other";

/// Handles of every field of the schema.
#[derive(Clone)]
pub(crate) struct Fields {
    pub(crate) id: Field,
    pub(crate) title: Field,
    /// `(language, field)`, in [`DESCRIPTION_LANGUAGES`] order, then
    /// [`OTHER_LANGUAGE`].
    pub(crate) descriptions: Vec<(&'static str, Field)>,
    pub(crate) materials: Field,
    pub(crate) category: Field,
    pub(crate) craft_tradition: Field,
    pub(crate) cultural_story: Field,
    pub(crate) exact_category: Field,
    pub(crate) exact_subcategory: Field,
    pub(crate) exact_region: Field,
    pub(crate) exact_artisan_id: Field,
    pub(crate) exact_status: Field,
    pub(crate) exact_material: Field,
    pub(crate) exact_currency: Field,
    pub(crate) price: Field,
    pub(crate) created_at_us: Field,
    pub(crate) updated_at_us: Field,
}

/// Name of the fast field holding the creation time.
pub(crate) const CREATED_AT_US: &str = "created_at_us";
/// Name of the fast field holding the last change time.
pub(crate) const UPDATED_AT_US: &str = "updated_at_us";

impl Fields {
    /// The schema and its field handles.
    pub(crate) fn build() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let text = |analyzer: &str, stored: bool| {
            let options = TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(analyzer)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            );
            if stored {
                options.set_stored()
            } else {
                options
            }
        };
        let id = builder.add_text_field("id", STRING | STORED);
        let title = builder.add_text_field("title", text(ENGLISH_ANALYZER, true));
        let mut descriptions = Vec::with_capacity(DESCRIPTION_LANGUAGES.len() + 1);
        for language in DESCRIPTION_LANGUAGES.into_iter().chain([OTHER_LANGUAGE]) {
            let analyzer = if language == "en" {
                ENGLISH_ANALYZER
            } else {
                TEXT_ANALYZER
            };
            let field =
                builder.add_text_field(&format!("description_{language}"), text(analyzer, true));
            descriptions.push((language, field));
        }
        let fields = Fields {
            id,
            title,
            descriptions,
            materials: builder.add_text_field("materials", text(ENGLISH_ANALYZER, false)),
            category: builder.add_text_field("category", text(ENGLISH_ANALYZER, false)),
            craft_tradition: builder.add_text_field("craft_tradition", text(TEXT_ANALYZER, false)),
            cultural_story: builder.add_text_field("cultural_story", text(TEXT_ANALYZER, true)),
            exact_category: builder.add_text_field("exact_category", STRING),
            exact_subcategory: builder.add_text_field("exact_subcategory", STRING),
            exact_region: builder.add_text_field("exact_region", STRING),
            exact_artisan_id: builder.add_text_field("exact_artisan_id", STRING),
            exact_status: builder.add_text_field("exact_status", STRING),
            exact_material: builder.add_text_field("exact_material", STRING),
            exact_currency: builder.add_text_field("exact_currency", STRING),
            price: builder.add_i64_field("price", FAST),
            created_at_us: builder.add_i64_field(CREATED_AT_US, FAST),
            updated_at_us: builder.add_i64_field(UPDATED_AT_US, FAST),
        };
        (builder.build(), fields)
    }

    /// The full-text fields a query searches by default.
    pub(crate) fn text_fields(&self) -> Vec<Field> {
        let mut fields = vec![self.title];
        fields.extend(self.descriptions.iter().map(|&(_, field)| field));
        fields.extend([
            self.materials,
            self.category,
            self.craft_tradition,
            self.cultural_story,
        ]);
        fields
    }

    /// Stored text fields that get highlights, with their highlight key
    /// (`title`, `description.hi`, `cultural_story`).
    pub(crate) fn highlighted(&self) -> Vec<(String, Field)> {
        let mut fields = vec![("title".to_string(), self.title)];
        fields.extend(
            self.descriptions
                .iter()
                .map(|&(language, field)| (format!("description.{language}"), field)),
        );
        fields.push(("cultural_story".to_string(), self.cultural_story));
        fields
    }

    /// The description field for a language code such as `hi` or `hi-IN`.
    fn description_field(&self, language: &str) -> Field {
        let primary = language
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .trim()
            .to_lowercase();
        let other = self.descriptions.last().map(|&(_, field)| field);
        self.descriptions
            .iter()
            .find(|&&(code, _)| code == primary)
            .map(|&(_, field)| field)
            .or(other)
            .unwrap_or(self.title)
    }

    /// The tantivy document for `doc`.
    pub(crate) fn document(&self, doc: &SearchDoc) -> TantivyDocument {
        let mut out = TantivyDocument::default();
        out.add_text(self.id, &doc.id);
        out.add_text(self.title, &doc.title);
        for (language, text) in &doc.description {
            out.add_text(self.description_field(language), text);
        }
        for material in &doc.materials {
            out.add_text(self.materials, material);
            out.add_text(self.exact_material, material.to_lowercase());
        }
        out.add_text(self.category, &doc.category);
        out.add_text(self.craft_tradition, &doc.craft_tradition);
        out.add_text(self.cultural_story, &doc.cultural_story);
        out.add_text(self.exact_category, &doc.category);
        out.add_text(self.exact_subcategory, &doc.subcategory);
        out.add_text(self.exact_region, &doc.region);
        out.add_text(self.exact_artisan_id, &doc.artisan_id);
        out.add_text(self.exact_status, &doc.status);
        out.add_text(self.exact_currency, &doc.currency);
        out.add_i64(self.price, doc.price);
        out.add_i64(self.created_at_us, doc.created_at_us);
        out.add_i64(self.updated_at_us, doc.updated_at_us);
        out
    }
}

/// Registers the analyzers the schema names on `index` (they are not stored
/// in the index, so every open must do it).
pub(crate) fn register_analyzers(index: &Index) {
    register_into(index.tokenizers());
}

fn register_into(tokenizers: &TokenizerManager) {
    // `None` only if tantivy is built without its `stopwords` feature.
    let stop_words = || {
        StopWordFilter::new(Language::English)
            .unwrap_or_else(|| StopWordFilter::remove(Vec::<String>::new()))
    };
    tokenizers.register(
        TEXT_ANALYZER,
        TextAnalyzer::builder(WordTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_WORD_BYTES))
            .filter(LowerCaser)
            .filter(stop_words())
            .build(),
    );
    tokenizers.register(
        ENGLISH_ANALYZER,
        TextAnalyzer::builder(WordTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_WORD_BYTES))
            .filter(LowerCaser)
            .filter(stop_words())
            .filter(Stemmer::new(Language::English))
            .build(),
    );
}

#[cfg(test)]
mod tests {
    use tantivy::tokenizer::TokenizerManager;

    use super::{ENGLISH_ANALYZER, TEXT_ANALYZER, register_into};

    fn words(manager: &TokenizerManager, analyzer: &str, text: &str) -> Vec<String> {
        let Some(mut analyzer) = manager.get(analyzer) else {
            return vec!["<missing analyzer>".to_string()];
        };
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        stream.process(&mut |token| out.push(token.text.clone()));
        out
    }

    #[test]
    fn analyzers_lowercase_drop_stop_words_and_stem_english() {
        let manager = TokenizerManager::new();
        register_into(&manager);
        assert_eq!(
            words(&manager, TEXT_ANALYZER, "The Silk SAREES of बनारस"),
            vec!["silk", "sarees", "बनारस"]
        );
        assert_eq!(
            words(
                &manager,
                ENGLISH_ANALYZER,
                "The Silk SAREES of बनारस, weaving"
            ),
            vec!["silk", "sare", "बनारस", "weav"]
        );
    }
}
