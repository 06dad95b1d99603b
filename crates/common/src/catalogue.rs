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

#[cfg(test)]
mod tests {
    #[test]
    fn regions_group_by_their_words() {
        assert_eq!(super::region_key("  Tamil  Nadu "), "tamil nadu");
        assert_eq!(super::region_key("RAJASTHAN"), "rajasthan");
        assert_eq!(super::region_key(" "), "");
    }
}
