//! Marketing content for a listed product: a post per platform within the
//! platform's documented length, hashtags from the product's keywords,
//! tradition and region, poster colours from its measured palette (text
//! colour by WCAG contrast), and a campaign plan.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::keywords::Keywords;
use super::templates::{self, Facts};
use super::{compose, language_name};
use crate::domain::image::{Analysis, Swatch};
use crate::providers::{ProviderError, Providers, Source};

/// A platform and its documented limits.
pub struct Platform {
    pub name: &'static str,
    /// Characters in a post (Instagram caption 2,200; X 280 for a standard
    /// account; Facebook post 63,206; WhatsApp Business template body
    /// 1,024).
    pub max_chars: usize,
    /// Hashtags it allows or that are useful (Instagram allows 30).
    pub max_hashtags: usize,
}

pub const PLATFORMS: &[Platform] = &[
    Platform {
        name: "instagram",
        max_chars: 2_200,
        max_hashtags: 30,
    },
    Platform {
        name: "facebook",
        max_chars: 63_206,
        max_hashtags: 5,
    },
    Platform {
        name: "x",
        max_chars: 280,
        max_hashtags: 3,
    },
    Platform {
        name: "whatsapp",
        max_chars: 1_024,
        max_hashtags: 0,
    },
];

/// Hashtags kept at most.
pub const MAX_HASHTAGS: usize = 15;

/// One platform's post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Post {
    pub platform: String,
    pub text: String,
    pub chars: usize,
    pub max_chars: usize,
    /// Cut at a word to fit the limit.
    pub shortened: bool,
}

/// A poster layout and its colours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PosterDesign {
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub layout: String,
    pub background: String,
    pub text_colour: String,
    pub accent: String,
    /// WCAG 2 contrast of text on background (4.5 is the AA minimum).
    pub text_contrast: f64,
    pub why: String,
}

/// Posters, or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Posters {
    Designed { designs: Vec<PosterDesign> },
    Unavailable { reason: String },
}

/// One step of the campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CampaignStep {
    /// Days after the launch.
    pub day: u32,
    pub platform: String,
    /// `launch`, `making_of`, `detail`, `reminder`, `direct`.
    pub purpose: String,
    /// The product's field the step is built on.
    pub built_on: String,
}

/// Everything for one product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MarketingContent {
    pub product_id: String,
    pub language: String,
    pub source: Source,
    pub social_media_posts: Vec<Post>,
    pub hashtags: Vec<String>,
    pub poster_designs: Posters,
    /// Composed from the product's fields by rule; labelled as such.
    pub campaign_strategy: Vec<CampaignStep>,
}

/// `text` with every character a letter, digit or mark, in CamelCase:
/// `"block printing"` → `BlockPrinting`.
fn hashtag(text: &str) -> Option<String> {
    let tag: String = text
        .split(|c: char| !(c.is_alphanumeric() || ('\u{0900}'..='\u{0DFF}').contains(&c)))
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|f| f.to_uppercase().chain(cs).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    (!tag.is_empty() && tag.chars().count() <= 40).then(|| format!("#{tag}"))
}

/// Hashtags: the craft tradition, the region's first part, the
/// category, then the keywords in order; distinct, at most
/// [`MAX_HASHTAGS`].
pub fn hashtags(facts: &Facts, keywords: &Keywords) -> Vec<String> {
    let region = facts
        .region
        .as_deref()
        .and_then(|r| r.split(',').next())
        .map(str::to_owned);
    let candidates = [
        facts.craft_tradition.clone(),
        region,
        Some(facts.category.clone()),
    ]
    .into_iter()
    .flatten()
    .chain(keywords.keywords.iter().map(|k| k.keyword.clone()));
    let mut seen = std::collections::BTreeSet::new();
    candidates
        .filter_map(|c| hashtag(&c))
        .filter(|t| seen.insert(t.to_lowercase()))
        .take(MAX_HASHTAGS)
        .collect()
}

/// `text` cut at the last whole word that leaves room for `…` within `max`
/// characters; whether it was cut.
fn fit(text: &str, max: usize) -> (String, bool) {
    if text.chars().count() <= max {
        return (text.to_owned(), false);
    }
    let head: String = text.chars().take(max.saturating_sub(1)).collect();
    let cut = head
        .rfind(char::is_whitespace)
        .map_or(head.as_str(), |i| &head[..i]);
    (format!("{}…", cut.trim_end()), true)
}

/// `body` and as many of `tags` as the platform takes and fit.
fn post(platform: &Platform, body: &str, tags: &[String]) -> Post {
    let (mut text, shortened) = fit(body, platform.max_chars);
    for tag in tags.iter().take(platform.max_hashtags) {
        let sep = if text.contains("\n\n#") { " " } else { "\n\n" };
        if text.chars().count() + sep.chars().count() + tag.chars().count() <= platform.max_chars {
            text.push_str(sep);
            text.push_str(tag);
        }
    }
    Post {
        platform: platform.name.to_owned(),
        chars: text.chars().count(),
        text,
        max_chars: platform.max_chars,
        shortened,
    }
}

/// WCAG 2 relative luminance of an sRGB colour.
fn luminance(rgb: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2])
}

/// WCAG 2 contrast ratio, 1–21.
pub fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Poster designs from the photo's palette and shape.
pub fn posters(analysis: &Analysis) -> Posters {
    let Some(background) = analysis
        .palette
        .iter()
        .max_by(|a, b| a.share.total_cmp(&b.share))
    else {
        return Posters::Unavailable {
            reason: "the photo's palette is empty".to_owned(),
        };
    };
    let black = Swatch {
        hex: "#111111".into(),
        rgb: [17, 17, 17],
        share: 0.0,
        name: "near black".into(),
    };
    let white = Swatch {
        hex: "#FFFFFF".into(),
        rgb: [255, 255, 255],
        share: 0.0,
        name: "white".into(),
    };
    let text = if contrast(black.rgb, background.rgb) >= contrast(white.rgb, background.rgb) {
        &black
    } else {
        &white
    };
    let accent = analysis
        .palette
        .iter()
        .filter(|s| s.hex != background.hex)
        .max_by(|a, b| contrast(a.rgb, background.rgb).total_cmp(&contrast(b.rgb, background.rgb)))
        .filter(|s| contrast(s.rgb, background.rgb) >= 3.0)
        .unwrap_or(text);
    let ratio = f64::from(analysis.quality.width) / f64::from(analysis.quality.height.max(1));
    let text_contrast = round2(contrast(text.rgb, background.rgb));
    let formats = [
        ("instagram_square", 1080, 1080),
        ("instagram_portrait", 1080, 1350),
        ("story", 1080, 1920),
    ];
    let designs = formats
        .into_iter()
        .map(|(format, width, height)| {
            let poster_ratio = f64::from(width) / f64::from(height);
            let (layout, why) = if ratio > poster_ratio * 1.2 {
                (
                    "photo_top_text_below",
                    format!("the photo is wider ({ratio:.2}:1) than the poster ({poster_ratio:.2}:1): full width on top, text on the background below"),
                )
            } else if ratio < poster_ratio / 1.2 {
                (
                    "photo_left_text_right",
                    format!("the photo is narrower ({ratio:.2}:1) than the poster ({poster_ratio:.2}:1): photo at full height on one side, text beside it"),
                )
            } else {
                (
                    "photo_full_bleed_text_band",
                    format!("the photo's shape ({ratio:.2}:1) is close to the poster's ({poster_ratio:.2}:1): photo fills it, text on a band of the background colour"),
                )
            };
            PosterDesign {
                format: format.to_owned(),
                width,
                height,
                layout: layout.to_owned(),
                background: background.hex.clone(),
                text_colour: text.hex.clone(),
                accent: accent.hex.clone(),
                text_contrast,
                why: format!(
                    "{why}; background is the photo's largest colour ({}, {:.0}% of it), text the higher-contrast of black and white",
                    background.name,
                    background.share * 100.0
                ),
            }
        })
        .collect();
    Posters::Designed { designs }
}

/// A two-week plan built on what the listing states.
pub fn campaign(facts: &Facts) -> Vec<CampaignStep> {
    let step = |day, platform: &str, purpose: &str, built_on: &str| CampaignStep {
        day,
        platform: platform.to_owned(),
        purpose: purpose.to_owned(),
        built_on: built_on.to_owned(),
    };
    let mut plan = vec![
        step(0, "instagram", "launch", "title"),
        step(0, "facebook", "launch", "title"),
    ];
    if facts
        .craft_tradition
        .as_deref()
        .is_some_and(|t| !t.trim().is_empty())
    {
        plan.push(step(3, "instagram", "making_of", "craft_tradition"));
    } else if facts.production_time_days.is_some() {
        plan.push(step(3, "instagram", "making_of", "production_time_days"));
    }
    if !facts.materials.is_empty() {
        plan.push(step(6, "facebook", "detail", "materials"));
    }
    plan.push(step(9, "x", "reminder", "title"));
    plan.push(step(12, "whatsapp", "direct", "title"));
    plan
}

/// The marketing content of a listing.
pub async fn content(
    providers: &Providers,
    product_id: &str,
    facts: &Facts,
    own: &BTreeMap<String, String>,
    language: &str,
    keywords: &Keywords,
    analysis: Option<&Analysis>,
) -> Result<MarketingContent, ProviderError> {
    let tags = hashtags(facts, keywords);
    let mut posts = Vec::new();
    let mut source = Source::template();
    for platform in PLATFORMS {
        let task = format!(
            "Write one {} post announcing this piece, in {}, at most {} characters, without hashtags.",
            platform.name,
            language_name(language),
            platform.max_chars.min(1_500),
        );
        let (body, s) = if providers.text.is_some() {
            compose(providers, &task, facts, own, language, 600, true).await?
        } else {
            (
                templates::facts_text(facts, language, true),
                Source::template(),
            )
        };
        source = s;
        posts.push(post(platform, &body, &tags));
    }
    let poster_designs = match analysis {
        Some(a) => posters(a),
        None => Posters::Unavailable {
            reason: "the product's photo has not been analysed yet".to_owned(),
        },
    };
    Ok(MarketingContent {
        product_id: product_id.to_owned(),
        language: language.to_owned(),
        source,
        social_media_posts: posts,
        hashtags: tags,
        poster_designs,
        campaign_strategy: campaign(facts),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::text::keywords;

    #[test]
    fn hashtags_are_camel_case_distinct_and_bounded() {
        let facts = Facts {
            title: "Ajrakh stole".into(),
            category: "textiles".into(),
            region: Some("Kutch, Gujarat".into()),
            craft_tradition: Some("Ajrakh block printing".into()),
            ..Facts::default()
        };
        let k = keywords::extract("Ajrakh stole in natural indigo. Ajrakh.", &[]);
        let tags = hashtags(&facts, &k);
        assert_eq!(tags[..3], ["#AjrakhBlockPrinting", "#Kutch", "#Textiles"]);
        assert!(tags.contains(&"#Ajrakh".to_owned()));
        assert!(tags.len() <= MAX_HASHTAGS);
        assert_eq!(hashtag("मिट्टी के दीये").as_deref(), Some("#मिट्टीकेदीये"));
    }

    #[test]
    fn posts_fit_each_platform() {
        let long = "Hand woven. ".repeat(100);
        let tags = vec!["#Handloom".to_owned(), "#Varanasi".to_owned()];
        for platform in PLATFORMS {
            let p = post(platform, &long, &tags);
            assert!(
                p.chars <= platform.max_chars,
                "{}: {}",
                platform.name,
                p.chars
            );
            assert_eq!(p.chars, p.text.chars().count());
        }
        let x = post(&PLATFORMS[2], &long, &tags);
        assert!(x.shortened && x.text.contains('…'));
        let whatsapp = post(&PLATFORMS[3], "Short.", &tags);
        assert_eq!(whatsapp.text, "Short.");
    }

    #[test]
    fn contrast_follows_wcag() {
        assert!((contrast([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
        assert!((contrast([119, 119, 119], [255, 255, 255]) - 4.48).abs() < 0.01);
    }
}
