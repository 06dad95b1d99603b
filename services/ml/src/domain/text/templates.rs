//! Written templates, one per language, that compose text from a
//! product's own fields when no text model is configured. Each sentence
//! states a field; nothing is said that the artisan did not enter.
//! Answers made from them say so (`source.status = "template"`).

/// The languages of the catalogue, English first.
pub const LANGUAGES: &[&str] = &["en", "hi", "bn", "ta", "te", "mr"];

/// What a product's listing says of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub title: String,
    pub category: String,
    pub subcategory: String,
    pub region: Option<String>,
    pub craft_tradition: Option<String>,
    pub materials: Vec<String>,
    pub production_time_days: Option<u32>,
}

/// One language's sentence patterns.
struct Phrases {
    /// The end of a sentence.
    stop: &'static str,
    handmade: &'static str,
    handmade_in: fn(&str) -> String,
    tradition: &'static str,
    materials: &'static str,
    days: fn(u32) -> String,
}

fn phrases(language: &str) -> Phrases {
    match language {
        "hi" => Phrases {
            stop: "।",
            handmade: "हाथ से बना",
            handmade_in: |r| format!("{r} में हाथ से बना"),
            tradition: "शिल्प परंपरा",
            materials: "सामग्री",
            days: |n| format!("बनाने में लगभग {n} दिन लगते हैं"),
        },
        "bn" => Phrases {
            stop: "।",
            handmade: "হাতে তৈরি",
            handmade_in: |r| format!("{r}-এ হাতে তৈরি"),
            tradition: "শিল্প ঐতিহ্য",
            materials: "উপকরণ",
            days: |n| format!("তৈরি করতে প্রায় {n} দিন লাগে"),
        },
        "ta" => Phrases {
            stop: ".",
            handmade: "கையால் செய்யப்பட்டது",
            handmade_in: |r| format!("{r} பகுதியில் கையால் செய்யப்பட்டது"),
            tradition: "கைவினை மரபு",
            materials: "பொருட்கள்",
            days: |n| format!("செய்ய சுமார் {n} நாட்கள் ஆகும்"),
        },
        "te" => Phrases {
            stop: ".",
            handmade: "చేతితో తయారు చేయబడింది",
            handmade_in: |r| format!("{r}లో చేతితో తయారు చేయబడింది"),
            tradition: "చేతిపని సంప్రదాయం",
            materials: "పదార్థాలు",
            days: |n| format!("తయారు చేయడానికి సుమారు {n} రోజులు పడుతుంది"),
        },
        "mr" => Phrases {
            stop: ".",
            handmade: "हाताने बनवलेले",
            handmade_in: |r| format!("{r} येथे हाताने बनवलेले"),
            tradition: "हस्तकला परंपरा",
            materials: "साहित्य",
            days: |n| format!("बनवण्यासाठी सुमारे {n} दिवस लागतात"),
        },
        _ => Phrases {
            stop: ".",
            handmade: "Handmade",
            handmade_in: |r| format!("Handmade in {r}"),
            tradition: "Craft tradition",
            materials: "Materials",
            days: |n| {
                if n == 1 {
                    "Each piece takes about a day to make".to_owned()
                } else {
                    format!("Each piece takes about {n} days to make")
                }
            },
        },
    }
}

/// The product's facts as sentences in `language` (English for a
/// language without templates); `with_time` adds the making time.
pub fn facts_text(facts: &Facts, language: &str, with_time: bool) -> String {
    let p = phrases(language);
    let mut sentences = vec![facts.title.trim().trim_end_matches(['.', '।']).to_owned()];
    sentences.push(match facts.region.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => (p.handmade_in)(r),
        _ => p.handmade.to_owned(),
    });
    if let Some(t) = facts.craft_tradition.as_deref().map(str::trim)
        && !t.is_empty()
    {
        sentences.push(format!("{}: {t}", p.tradition));
    }
    let materials: Vec<&str> = facts
        .materials
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .collect();
    if !materials.is_empty() {
        sentences.push(format!("{}: {}", p.materials, materials.join(", ")));
    }
    if with_time && let Some(n) = facts.production_time_days.filter(|n| *n > 0) {
        sentences.push((p.days)(n));
    }
    sentences
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| format!("{s}{}", p.stop))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vase() -> Facts {
        Facts {
            title: "Blue pottery vase".into(),
            category: "pottery".into(),
            subcategory: "vases".into(),
            region: Some("Jaipur, Rajasthan".into()),
            craft_tradition: Some("Jaipur blue pottery".into()),
            materials: vec!["quartz".into(), "glass".into()],
            production_time_days: Some(6),
        }
    }

    #[test]
    fn english_states_each_field_once() {
        assert_eq!(
            facts_text(&vase(), "en", true),
            "Blue pottery vase. Handmade in Jaipur, Rajasthan. Craft tradition: Jaipur blue pottery. Materials: quartz, glass. Each piece takes about 6 days to make."
        );
    }

    #[test]
    fn every_language_has_its_own_sentences_and_leaves_out_what_is_missing() {
        let bare = Facts {
            title: "Diya".into(),
            ..Facts::default()
        };
        assert_eq!(facts_text(&bare, "en", true), "Diya. Handmade.");
        assert_eq!(facts_text(&bare, "hi", true), "Diya। हाथ से बना।");
        for lang in LANGUAGES {
            let text = facts_text(&vase(), lang, true);
            assert!(text.contains("quartz, glass"), "{lang}: {text}");
            assert!(text.contains('6'), "{lang}: {text}");
            if *lang != "en" {
                assert!(!text.contains("Handmade"), "{lang}: {text}");
            }
        }
    }
}
