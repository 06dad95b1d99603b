//! The catalogue's vocabulary, shared by the services that classify
//! products (product lists them; pricing and analytics group by them).

/// Categories of craft the catalogue accepts.
pub const CATEGORIES: &[&str] = &[
    "textiles",
    "pottery",
    "jewelry",
    "woodwork",
    "metalwork",
    "painting",
    "basketry",
    "leather",
    "stone_carving",
    "toys",
    "home_decor",
    "other",
];

/// A free-text region as a grouping key: trimmed, lowercase, single
/// spaces ("  Tamil  Nadu " and "tamil nadu" are one region).
pub fn region_key(region: &str) -> String {
    region
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Free text (a region, a subcategory) as one part of a document id: `%`,
/// `/` and `|` percent-encoded (ids may not hold `/`, and `|` joins the
/// parts), and a part longer than 160 bytes replaced by `~` and its 64-bit
/// FNV-1a hash, so that an id of a few parts stays within the stores'
/// limits (512 bytes locally, 1,500 in Firestore).
pub fn key_part(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            '|' => out.push_str("%7C"),
            c => out.push(c),
        }
    }
    if out.len() <= 160 {
        return out;
    }
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("~{hash:016x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_parts_hold_no_separator_and_stay_short() {
        use super::key_part;
        assert_eq!(key_part("jaipur/rajasthan|x%"), "jaipur%2Frajasthan%7Cx%25");
        assert_eq!(key_part("तमिलनाडु"), "तमिलनाडु");
        let long = "/".repeat(200);
        let k = key_part(&long);
        assert_eq!((k.len(), k.starts_with('~')), (17, true));
        assert_ne!(key_part(&"a".repeat(161)), key_part(&"b".repeat(161)));
    }

    #[test]
    fn regions_group_by_their_words() {
        assert_eq!(super::region_key("  Tamil  Nadu "), "tamil nadu");
        assert_eq!(super::region_key("RAJASTHAN"), "rajasthan");
        assert_eq!(super::region_key(" "), "");
    }
}
