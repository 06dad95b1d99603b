//! Text about a product: descriptions, cultural stories and marketing
//! content. Prose comes from the configured [`TextGenerator`] (grounded in
//! the product's fields by the prompt), or — with no text model — from the
//! written [`templates`], labelled so. Keywords, readability, hashtags,
//! poster colours and the campaign's plan are computed here either way.

pub mod keywords;
pub mod marketing;
pub mod readability;
pub mod templates;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::providers::{Prompt, ProviderError, Providers, Source};
use templates::{Facts, LANGUAGES};

/// The name of a catalogue language, for prompts.
pub fn language_name(code: &str) -> &'static str {
    match code {
        "hi" => "Hindi",
        "bn" => "Bengali",
        "ta" => "Tamil",
        "te" => "Telugu",
        "mr" => "Marathi",
        _ => "English",
    }
}

/// The product's fields as the prompt states them, one per line.
fn facts_block(facts: &Facts, own: &BTreeMap<String, String>) -> String {
    let mut lines = vec![
        format!("Title: {}", facts.title),
        format!("Category: {}", facts.category),
    ];
    let mut push = |label: &str, value: Option<&str>| {
        if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
            lines.push(format!("{label}: {v}"));
        }
    };
    push("Subcategory", Some(&facts.subcategory));
    push("Region", facts.region.as_deref());
    push("Craft tradition", facts.craft_tradition.as_deref());
    push("Materials", Some(&facts.materials.join(", ")));
    let days = facts.production_time_days.map(|d| d.to_string());
    push("Days to make one piece", days.as_deref());
    for (lang, text) in own {
        push(
            &format!("The artisan's own description ({})", language_name(lang)),
            Some(text),
        );
    }
    lines.join("\n")
}

/// Instructions every prompt carries: only the facts given.
const GROUNDED: &str = "You write for an online marketplace of Indian handmade crafts. Use only the facts given about the product; never invent measurements, prices, awards, people, places or history. If a fact is not given, leave it out.";

/// Text in `language`: from the model, or from the templates.
async fn compose(
    providers: &Providers,
    task: &str,
    facts: &Facts,
    own: &BTreeMap<String, String>,
    language: &str,
    max_output_tokens: u32,
    with_time: bool,
) -> Result<(String, Source), ProviderError> {
    match &providers.text {
        Some(model) => {
            let prompt = Prompt {
                system: format!(
                    "{GROUNDED} Answer in {} with the text only.",
                    language_name(language)
                ),
                user: format!("{task}\n\n{}", facts_block(facts, own)),
                max_output_tokens,
            };
            let text = model.generate(&prompt).await?;
            Ok((
                text,
                Source::Model {
                    model: model.model(),
                },
            ))
        }
        None => Ok((
            templates::facts_text(facts, language, with_time),
            Source::template(),
        )),
    }
}

/// A translation of the primary text, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Translation {
    /// Machine-translated from the primary text.
    Translated { text: String, model: String },
    /// The artisan wrote this language themself: kept, never replaced.
    ArtisanWritten { text: String },
    /// No translator is configured.
    Unavailable { reason: String },
    /// The translator failed for this language.
    Failed { reason: String },
}

/// A generated description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Description {
    pub language: String,
    pub primary_description: String,
    pub source: Source,
    /// Every other catalogue language.
    pub translations: BTreeMap<String, Translation>,
    pub seo_keywords: keywords::Keywords,
    pub readability: readability::Readability,
}

/// A description of `facts` in `language`, its keywords against `corpus`,
/// its readability, and its translations (the artisan's own text where
/// they wrote one).
pub async fn describe(
    providers: &Providers,
    facts: &Facts,
    own: &BTreeMap<String, String>,
    language: &str,
    corpus: &[Vec<String>],
) -> Result<Description, ProviderError> {
    let (primary, source) = compose(
        providers,
        "Write the product description for its listing: two short paragraphs, at most 150 words, plain sentences a buyer reads easily.",
        facts,
        own,
        language,
        512,
        true,
    )
    .await?;
    let others = LANGUAGES.iter().copied().filter(|l| *l != language);
    let translations = futures::future::join_all(others.map(|to| {
        let primary = &primary;
        async move {
            let t = match (own.get(to), &providers.translator) {
                (Some(text), _) if !text.trim().is_empty() => {
                    Translation::ArtisanWritten { text: text.clone() }
                }
                (_, None) => Translation::Unavailable {
                    reason: "no translation provider is configured".to_owned(),
                },
                (_, Some(translator)) => match translator.translate(primary, language, to).await {
                    Ok(text) => Translation::Translated {
                        text,
                        model: translator.model(),
                    },
                    Err(e) => Translation::Failed {
                        reason: e.to_string(),
                    },
                },
            };
            (to.to_owned(), t)
        }
    }))
    .await
    .into_iter()
    .collect();
    Ok(Description {
        language: language.to_owned(),
        seo_keywords: keywords::extract(&keyword_text(facts, own, &primary, &source), corpus),
        readability: readability::measure(&primary, language),
        primary_description: primary,
        source,
        translations,
    })
}

/// The text keywords are drawn from: the product's own words (title,
/// subcategory, tradition, region, materials, the artisan's descriptions)
/// and a model's description — never the templates' labels.
pub fn keyword_text(
    facts: &Facts,
    own: &BTreeMap<String, String>,
    primary: &str,
    source: &Source,
) -> String {
    let mut parts = vec![facts.title.clone(), facts.subcategory.clone()];
    parts.extend(facts.craft_tradition.clone());
    parts.extend(facts.region.clone());
    parts.extend(facts.materials.iter().cloned());
    parts.extend(own.values().cloned());
    if matches!(source, Source::Model { .. }) {
        parts.push(primary.to_owned());
    }
    parts.retain(|p| !p.trim().is_empty());
    parts.join(". ")
}

/// A cultural story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Story {
    pub story: String,
    pub language: String,
    pub source: Source,
    /// What wrote it, in one word: `template`, or the model
    /// (`vertex:gemini-2.0-flash-001`).
    pub generated_by: String,
}

/// The cultural story of `facts` in `language`.
pub async fn story(
    providers: &Providers,
    facts: &Facts,
    language: &str,
) -> Result<Story, ProviderError> {
    let (story, source) = compose(
        providers,
        "Write the cultural story of this piece for its listing, 80 to 150 words: the craft tradition and region it comes from and how such pieces are made, as widely documented. If the craft tradition is not given, write about the materials and the making instead.",
        facts,
        &BTreeMap::new(),
        language,
        400,
        false,
    )
    .await?;
    let generated_by = match &source {
        Source::Model { model } => model.clone(),
        _ => "template".to_owned(),
    };
    Ok(Story {
        story,
        language: language.to_owned(),
        source,
        generated_by,
    })
}
