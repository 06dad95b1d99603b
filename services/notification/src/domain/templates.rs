//! Templates: minijinja text per language, stored and versioned. A send
//! renders the latest version in the user's language (English when the
//! template has no text in it); a variable the data lacks is the sender's
//! error (422 at send time), never a broken message.

mod builtin;

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use minijinja::value::{Serde, Value as JinjaValue};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use store::Entity;
use utoipa::ToSchema;

use super::{Category, ChannelKind};

pub use builtin::BUILTIN;

/// The catalogue's languages, in the order they are offered.
pub const LANGUAGES: [&str; 6] = ["en", "hi", "bn", "ta", "te", "mr"];
/// The language a template must have and falls back to.
pub const FALLBACK: &str = "en";
/// Versions kept of a template.
pub const MAX_VERSIONS: usize = 20;
/// Longest texts, in characters.
pub const MAX_SUBJECT: usize = 200;
pub const MAX_BODY: usize = 10_000;
pub const MAX_SHORT: usize = 1_000;
/// Template instructions one rendering may run (loops over data are
/// bounded by it).
const FUEL: u64 = 100_000;

/// India's Distributed Ledger Technology registration of an SMS template:
/// the sender's entity id and the template's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Dlt {
    pub entity_id: String,
    pub template_id: String,
}

/// A template's text in one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    /// Email subject and push title.
    #[schema(max_length = 200)]
    pub subject: Option<String>,
    /// Email, in-app and webhook text.
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
    /// SMS, WhatsApp and push text (the body when absent).
    #[schema(max_length = 1000)]
    pub short: Option<String>,
    /// The DLT id of this language's SMS text.
    #[schema(max_length = 64)]
    pub dlt_template_id: Option<String>,
    /// A WhatsApp template approved by Meta, as Twilio names it (`HX…`):
    /// WhatsApp messages go as this template (outside the 24-hour
    /// session, free text is not delivered).
    #[serde(default)]
    #[schema(pattern = "^HX[0-9a-fA-F]{32}$")]
    pub whatsapp_content_sid: Option<String>,
    /// The data variables filling the WhatsApp template's `{{1}}`,
    /// `{{2}}`, … in order (at most 10).
    #[serde(default, deserialize_with = "common::bounded::vec::<_, _, 10>")]
    #[schema(max_items = 10)]
    pub whatsapp_variables: Vec<String>,
}

/// A WhatsApp message as an approved template and its variables
/// (`{"1": "…", "2": "…"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatsappContent {
    pub content_sid: String,
    pub variables: BTreeMap<String, String>,
}

/// One version of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TemplateVersion {
    pub version: u32,
    pub category: Category,
    /// The DLT entity (principal entity) id its SMS are sent under.
    pub dlt_entity_id: Option<String>,
    /// Text by language code (`en` always among them).
    pub languages: BTreeMap<String, Localized>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// A stored template: its versions, newest last; the id is its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub versions: Vec<TemplateVersion>,
}

impl Entity for Template {
    const COLLECTION: &'static str = "templates";
}

impl Template {
    pub fn latest(&self) -> Option<&TemplateVersion> {
        self.versions.last()
    }
}

/// What a template rendered to.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub language: String,
    pub subject: Option<String>,
    pub body: String,
    pub dlt: Option<Dlt>,
    pub whatsapp: Option<WhatsappContent>,
}

/// Why a template could not be rendered with the data given.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RenderError {
    /// The data lacks variables the template uses.
    #[error("the template needs {}", .0.join(", "))]
    Missing(Vec<String>),
    /// The template failed on this data (a wrong type, too much work).
    #[error("the template could not be rendered with this data: {0}")]
    Failed(String),
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(20);
    env
}

/// Whether `name` can name a template: a-z, 0-9 and `_`, starting with a
/// letter, at most 64.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The most entries in a message's `data`.
pub const MAX_DATA_KEYS: usize = 50;
/// The most bytes of a message's `data`, as JSON.
pub const MAX_DATA_BYTES: usize = 16 * 1024;

/// Check a template's name and its data's size (`prefix` names a bulk
/// request's item).
pub fn check_request(
    v: &mut common::Validator,
    prefix: &str,
    template: &str,
    data: &BTreeMap<String, Value>,
) {
    v.check(
        valid_name(template),
        &format!("{prefix}template"),
        "invalid",
        "a-z, 0-9 and _, starting with a letter, at most 64",
    );
    let size = serde_json::to_vec(data).map_or(usize::MAX, |b| b.len());
    v.check_with(
        size <= MAX_DATA_BYTES,
        &format!("{prefix}data"),
        "too_large",
        || format!("must be at most {MAX_DATA_BYTES} bytes as JSON"),
    );
}

/// The syntax error in `source`, if any (checked when a template is saved).
pub fn syntax_error(source: &str) -> Option<String> {
    environment()
        .template_from_str(source)
        .err()
        .map(|e| e.to_string())
}

fn render_one(
    env: &Environment<'_>,
    source: &str,
    data: &Map<String, Value>,
) -> Result<String, RenderError> {
    let template = env
        .template_from_str(source)
        .map_err(|e| RenderError::Failed(e.to_string()))?;
    let mut missing: Vec<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| !data.contains_key(name) && env.globals().all(|(g, _)| g != name))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !missing.is_empty() {
        missing.sort();
        return Err(RenderError::Missing(missing));
    }
    template
        .render(JinjaValue::from(Serde(data)))
        .map_err(|e| match e.kind() {
            ErrorKind::UndefinedError => {
                RenderError::Missing(vec![e.detail().unwrap_or("a nested value").to_owned()])
            }
            _ => RenderError::Failed(e.to_string()),
        })
}

/// The WhatsApp template's variables from `data`, numbered from 1.
fn whatsapp_content(
    sid: &str,
    names: &[String],
    data: &Map<String, Value>,
) -> Result<WhatsappContent, RenderError> {
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !data.contains_key(*n))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(RenderError::Missing(missing));
    }
    let variables = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let value = match &data[n] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            ((i + 1).to_string(), value)
        })
        .collect();
    Ok(WhatsappContent {
        content_sid: sid.to_owned(),
        variables,
    })
}

impl TemplateVersion {
    /// The text in `language`, or in English.
    pub fn localized(&self, language: &str) -> Option<(&str, &Localized)> {
        self.languages
            .get_key_value(language)
            .or_else(|| self.languages.get_key_value(FALLBACK))
            .or_else(|| self.languages.iter().next())
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Render for `channel` in `language` (or English) with `data`.
    pub fn render(
        &self,
        language: &str,
        channel: ChannelKind,
        data: &Map<String, Value>,
    ) -> Result<Rendered, RenderError> {
        let Some((language, text)) = self.localized(language) else {
            return Err(RenderError::Failed("the template has no text".into()));
        };
        let env = environment();
        let body_source = match (&text.short, channel.is_short()) {
            (Some(short), true) => short,
            _ => &text.body,
        };
        let body = render_one(&env, body_source, data)?;
        let subject = text
            .subject
            .as_deref()
            .map(|s| render_one(&env, s, data))
            .transpose()?;
        let dlt = match (&self.dlt_entity_id, &text.dlt_template_id) {
            (Some(entity_id), Some(template_id)) => Some(Dlt {
                entity_id: entity_id.clone(),
                template_id: template_id.clone(),
            }),
            _ => None,
        };
        let whatsapp = match (&text.whatsapp_content_sid, channel) {
            (Some(sid), ChannelKind::Whatsapp) => {
                Some(whatsapp_content(sid, &text.whatsapp_variables, data)?)
            }
            _ => None,
        };
        Ok(Rendered {
            language: language.to_owned(),
            subject,
            body,
            dlt,
            whatsapp,
        })
    }
}

/// The language to write to a user in: their chosen one, else the first
/// of their profile's languages the catalogue has, else English.
pub fn language_for(chosen: Option<&str>, profile: &[String]) -> String {
    chosen
        .into_iter()
        .chain(profile.iter().map(String::as_str))
        .find(|l| LANGUAGES.contains(l))
        .unwrap_or(FALLBACK)
        .to_owned()
}

/// The template named `name`: its latest stored version, or the built-in
/// one of that name.
pub fn resolve(stored: Option<Template>, name: &str) -> Option<TemplateVersion> {
    stored
        .and_then(|t| t.latest().cloned())
        .or_else(|| builtin::version(name))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_missing_variable_is_named_before_anything_renders() {
        let t = builtin::version("order_placed").unwrap();
        let err = t
            .render("en", ChannelKind::Email, &data(json!({"order_id": "o1"})))
            .unwrap_err();
        let RenderError::Missing(names) = err else {
            panic!("{err:?}")
        };
        assert!(names.contains(&"total".to_owned()), "{names:?}");
        assert!(!names.contains(&"order_id".to_owned()));
    }

    #[test]
    fn text_comes_in_the_users_language_or_english() {
        let t = builtin::version("order_placed").unwrap();
        let d = data(
            json!({"order_id": "o1", "total": "₹1,200.00", "product": "Madhubani print", "name": "Asha"}),
        );
        let hi = t.render("hi", ChannelKind::InApp, &d).unwrap();
        assert_eq!(hi.language, "hi");
        assert!(hi.body.contains("o1"), "{}", hi.body);
        assert!(hi.body.contains("ऑर्डर"), "{}", hi.body);
        let xx = t.render("xx", ChannelKind::InApp, &d).unwrap();
        assert_eq!(xx.language, "en");
    }

    #[test]
    fn endless_templates_run_out_of_fuel() {
        let v = TemplateVersion {
            version: 1,
            category: Category::Marketing,
            dlt_entity_id: None,
            languages: BTreeMap::from([(
                "en".to_owned(),
                Localized {
                    subject: None,
                    body: "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}".into(),
                    short: None,
                    dlt_template_id: None,
                    whatsapp_content_sid: None,
                    whatsapp_variables: Vec::new(),
                },
            )]),
            created_at: common::time::now(),
            created_by: "admin".into(),
        };
        let err = v.render("en", ChannelKind::Email, &Map::new()).unwrap_err();
        assert!(matches!(err, RenderError::Failed(_)), "{err:?}");
    }

    #[test]
    fn every_builtin_template_parses_and_has_english() {
        for name in BUILTIN {
            let v = builtin::version(name).unwrap();
            assert!(v.languages.contains_key("en"), "{name}");
            for (lang, text) in &v.languages {
                for source in [Some(&text.body), text.subject.as_ref(), text.short.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    assert_eq!(syntax_error(source), None, "{name}/{lang}");
                }
            }
        }
    }

    #[test]
    fn languages_follow_the_choice_then_the_profile() {
        assert_eq!(language_for(Some("ta"), &[]), "ta");
        assert_eq!(language_for(None, &["fr".into(), "bn".into()]), "bn");
        assert_eq!(language_for(Some("fr"), &[]), "en");
    }
}
