//! The platform's own templates, version 0: what the events send until an
//! admin stores a version of the same name. An order's placing, payment
//! and shipping are written in all six catalogue languages; the rest in
//! English and Hindi (other languages fall back to English).

use std::collections::BTreeMap;

use super::{Localized, TemplateVersion};
use crate::domain::Category;

/// Each: name, then `(language, subject, body)`.
type Texts = &'static [(&'static str, &'static str, &'static str)];

const TEMPLATES: &[(&str, Texts)] = &[
    (
        "welcome",
        &[
            (
                "en",
                "Welcome to CraftChain",
                "Hello {{ name }}, welcome to CraftChain.",
            ),
            (
                "hi",
                "CraftChain में आपका स्वागत है",
                "नमस्ते {{ name }}, CraftChain में आपका स्वागत है।",
            ),
        ],
    ),
    (
        "order_placed",
        &[
            (
                "en",
                "Order {{ order_id }} received",
                "We have received your order {{ order_id }} ({{ total }}). The artisan is told as soon as it is paid.",
            ),
            (
                "hi",
                "आपका ऑर्डर {{ order_id }} मिल गया",
                "आपका ऑर्डर {{ order_id }} ({{ total }}) मिल गया है। भुगतान होते ही कारीगर को सूचना दी जाएगी।",
            ),
            (
                "bn",
                "অর্ডার {{ order_id }}",
                "আপনার অর্ডার {{ order_id }} ({{ total }}) পাওয়া গেছে।",
            ),
            (
                "ta",
                "ஆர்டர் {{ order_id }}",
                "உங்கள் ஆர்டர் {{ order_id }} ({{ total }}) பெறப்பட்டது.",
            ),
            (
                "te",
                "ఆర్డర్ {{ order_id }}",
                "మీ ఆర్డర్ {{ order_id }} ({{ total }}) అందింది.",
            ),
            (
                "mr",
                "ऑर्डर {{ order_id }}",
                "तुमची ऑर्डर {{ order_id }} ({{ total }}) मिळाली आहे.",
            ),
        ],
    ),
    (
        "new_order",
        &[
            (
                "en",
                "New order {{ order_id }}",
                "New order {{ order_id }}: {{ quantity }} item(s), {{ total }} in all. We will tell you when it is paid.",
            ),
            (
                "hi",
                "नया ऑर्डर {{ order_id }}",
                "नया ऑर्डर {{ order_id }}: {{ quantity }} नग, कुल {{ total }}। भुगतान की पुष्टि होने पर हम आपको बताएँगे।",
            ),
            (
                "bn",
                "নতুন অর্ডার {{ order_id }}",
                "নতুন অর্ডার {{ order_id }}: {{ quantity }}টি, মোট {{ total }}।",
            ),
            (
                "ta",
                "புதிய ஆர்டர் {{ order_id }}",
                "புதிய ஆர்டர் {{ order_id }}: {{ quantity }} எண்ணிக்கை, மொத்தம் {{ total }}.",
            ),
            (
                "te",
                "కొత్త ఆర్డర్ {{ order_id }}",
                "కొత్త ఆర్డర్ {{ order_id }}: {{ quantity }} వస్తువులు, మొత్తం {{ total }}.",
            ),
            (
                "mr",
                "नवीन ऑर्डर {{ order_id }}",
                "नवीन ऑर्डर {{ order_id }}: {{ quantity }} नग, एकूण {{ total }}.",
            ),
        ],
    ),
    (
        "payment_confirmed",
        &[
            (
                "en",
                "Payment for order {{ order_id }} received",
                "Your payment of {{ total }} for order {{ order_id }} is confirmed. Thank you!",
            ),
            (
                "hi",
                "ऑर्डर {{ order_id }} का भुगतान मिला",
                "ऑर्डर {{ order_id }} का भुगतान ({{ total }}) मिल गया है। धन्यवाद!",
            ),
            (
                "bn",
                "অর্ডার {{ order_id }}",
                "অর্ডার {{ order_id }}-এর পেমেন্ট ({{ total }}) পাওয়া গেছে। ধন্যবাদ!",
            ),
            (
                "ta",
                "ஆர்டர் {{ order_id }}",
                "ஆர்டர் {{ order_id }}-க்கான கட்டணம் ({{ total }}) பெறப்பட்டது. நன்றி!",
            ),
            (
                "te",
                "ఆర్డర్ {{ order_id }}",
                "ఆర్డర్ {{ order_id }} చెల్లింపు ({{ total }}) అందింది. ధన్యవాదాలు!",
            ),
            (
                "mr",
                "ऑर्डर {{ order_id }}",
                "ऑर्डर {{ order_id }} चे पेमेंट ({{ total }}) मिळाले आहे. धन्यवाद!",
            ),
        ],
    ),
    (
        "order_paid",
        &[
            (
                "en",
                "Order {{ order_id }} is paid: please ship it",
                "Order {{ order_id }} has been paid ({{ total }}). Please get it ready to ship.",
            ),
            (
                "hi",
                "ऑर्डर {{ order_id }} का भुगतान हो गया",
                "ऑर्डर {{ order_id }} का भुगतान ({{ total }}) हो गया है। कृपया सामान भेजने की तैयारी करें।",
            ),
            (
                "bn",
                "অর্ডার {{ order_id }}",
                "অর্ডার {{ order_id }}-এর পেমেন্ট ({{ total }}) হয়ে গেছে। পাঠানোর প্রস্তুতি নিন।",
            ),
            (
                "ta",
                "ஆர்டர் {{ order_id }}",
                "ஆர்டர் {{ order_id }}-க்கான கட்டணம் ({{ total }}) செலுத்தப்பட்டது. அனுப்பத் தயாராகுங்கள்.",
            ),
            (
                "te",
                "ఆర్డర్ {{ order_id }}",
                "ఆర్డర్ {{ order_id }} చెల్లింపు ({{ total }}) పూర్తైంది. పంపడానికి సిద్ధం చేయండి.",
            ),
            (
                "mr",
                "ऑर्डर {{ order_id }}",
                "ऑर्डर {{ order_id }} चे पेमेंट ({{ total }}) झाले आहे. पाठवण्याची तयारी करा.",
            ),
        ],
    ),
    (
        "order_shipped",
        &[
            (
                "en",
                "Order {{ order_id }} is on its way",
                "The artisan has shipped your order {{ order_id }}.",
            ),
            (
                "hi",
                "ऑर्डर {{ order_id }} भेज दिया गया",
                "कारीगर ने आपका ऑर्डर {{ order_id }} भेज दिया है।",
            ),
            (
                "bn",
                "অর্ডার {{ order_id }}",
                "কারিগর আপনার অর্ডার {{ order_id }} পাঠিয়ে দিয়েছেন।",
            ),
            (
                "ta",
                "ஆர்டர் {{ order_id }}",
                "கைவினைஞர் உங்கள் ஆர்டர் {{ order_id }}-ஐ அனுப்பியுள்ளார்.",
            ),
            (
                "te",
                "ఆర్డర్ {{ order_id }}",
                "కళాకారులు మీ ఆర్డర్ {{ order_id }}ను పంపారు.",
            ),
            (
                "mr",
                "ऑर्डर {{ order_id }}",
                "कारागिराने तुमची ऑर्डर {{ order_id }} पाठवली आहे.",
            ),
        ],
    ),
    (
        "order_completed",
        &[
            (
                "en",
                "Order {{ order_id }} is complete",
                "Order {{ order_id }} is complete. Thank you for buying handmade on CraftChain.",
            ),
            (
                "hi",
                "ऑर्डर {{ order_id }} पूरा हुआ",
                "ऑर्डर {{ order_id }} पूरा हो गया। CraftChain से खरीदारी के लिए धन्यवाद।",
            ),
        ],
    ),
    (
        "order_cancelled",
        &[
            (
                "en",
                "Order {{ order_id }} was cancelled",
                "Order {{ order_id }} was cancelled ({{ reason }}).{% if refund %} {{ refund }} will be refunded.{% endif %}",
            ),
            (
                "hi",
                "ऑर्डर {{ order_id }} रद्द हुआ",
                "ऑर्डर {{ order_id }} रद्द कर दिया गया है ({{ reason }})।{% if refund %} {{ refund }} वापस किए जाएँगे।{% endif %}",
            ),
        ],
    ),
    (
        "payment_received",
        &[
            (
                "en",
                "Deposit for order {{ order_id }} received",
                "Your deposit of {{ amount }} for order {{ order_id }} is held in escrow until the order is complete.",
            ),
            (
                "hi",
                "ऑर्डर {{ order_id }} की राशि जमा हुई",
                "ऑर्डर {{ order_id }} के लिए आपकी {{ amount }} की राशि एस्क्रो में जमा हो गई है।",
            ),
        ],
    ),
    (
        "refund_sent",
        &[
            (
                "en",
                "Refund for order {{ order_id }}",
                "{{ amount }} for order {{ order_id }} has been refunded to you.",
            ),
            (
                "hi",
                "ऑर्डर {{ order_id }} की राशि वापस",
                "ऑर्डर {{ order_id }} के {{ amount }} आपको वापस कर दिए गए हैं।",
            ),
        ],
    ),
    (
        "payout_sent",
        &[
            (
                "en",
                "You have been paid for order {{ order_id }}",
                "{{ amount }} for order {{ order_id }} has been paid to you (transaction {{ tx_hash }}).",
            ),
            (
                "hi",
                "ऑर्डर {{ order_id }} का भुगतान भेजा गया",
                "ऑर्डर {{ order_id }} के लिए आपको {{ amount }} भेज दिए गए हैं (लेन-देन {{ tx_hash }})।",
            ),
        ],
    ),
    (
        "weekly_report",
        &[
            (
                "en",
                "Your weekly report: {{ title }}",
                "Your report \"{{ title }}\" ({{ period }}, {{ pages }} pages) is ready: {{ url }}",
            ),
            (
                "hi",
                "आपकी साप्ताहिक रिपोर्ट: {{ title }}",
                "आपकी रिपोर्ट \"{{ title }}\" ({{ period }}, {{ pages }} पृष्ठ) तैयार है: {{ url }}",
            ),
        ],
    ),
    (
        "account_attacked",
        &[
            (
                "en",
                "Someone is trying to sign in to your account",
                "There were {{ failures }} failed sign-ins to your account (the last from {{ address }}). If this was not you, change your password.",
            ),
            (
                "hi",
                "आपके खाते में लॉगिन की कोशिश",
                "आपके खाते में {{ failures }} बार गलत पासवर्ड से लॉगिन की कोशिश हुई (अंतिम पता {{ address }})। अगर यह आप नहीं थे, तो अपना पासवर्ड बदलें।",
            ),
        ],
    ),
    (
        "webhook_disabled",
        &[
            (
                "en",
                "Your webhook endpoint was disabled",
                "Your webhook endpoint {{ url }} was disabled: {{ reason }}. Enable it again once it answers.",
            ),
            (
                "hi",
                "आपका वेबहुक बंद किया गया",
                "आपका वेबहुक {{ url }} बंद कर दिया गया है: {{ reason }}।",
            ),
        ],
    ),
];

/// The names of the built-in templates.
pub const BUILTIN: [&str; 14] = [
    "welcome",
    "order_placed",
    "new_order",
    "payment_confirmed",
    "order_paid",
    "order_shipped",
    "order_completed",
    "order_cancelled",
    "payment_received",
    "refund_sent",
    "payout_sent",
    "weekly_report",
    "account_attacked",
    "webhook_disabled",
];

/// The built-in template `name`, as version 0.
pub(super) fn version(name: &str) -> Option<TemplateVersion> {
    let (_, texts) = TEMPLATES.iter().find(|(n, _)| *n == name)?;
    let languages = texts
        .iter()
        .map(|(lang, subject, body)| {
            (
                (*lang).to_owned(),
                Localized {
                    subject: Some((*subject).to_owned()),
                    body: (*body).to_owned(),
                    short: None,
                    dlt_template_id: None,
                    whatsapp_content_sid: None,
                    whatsapp_variables: Vec::new(),
                },
            )
        })
        .collect::<BTreeMap<_, _>>();
    Some(TemplateVersion {
        version: 0,
        category: Category::Transactional,
        dlt_entity_id: None,
        languages,
        created_at: chrono::DateTime::UNIX_EPOCH,
        created_by: "platform".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_name_list_is_the_table() {
        let names: Vec<_> = super::TEMPLATES.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, super::BUILTIN);
    }
}
