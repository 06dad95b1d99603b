//! Deterministic numbers from a counter: SplitMix64's finaliser, so that
//! nearby inputs give unrelated outputs. For seeded algorithms (k-means++)
//! and for synthetic data in tests and benchmarks; never for secrets.

/// SplitMix64's increment (2⁶⁴ / φ).
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output for state `i` (the state advanced by [`GAMMA`],
/// then mixed).
pub fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A number in [0, 1) for `i`: the top 53 bits of [`mix`].
pub fn unit(i: u64) -> f64 {
    (mix(i) >> 11) as f64 / (1u64 << 53) as f64
}

/// A stream of [`unit`] numbers from `seed`: SplitMix64 itself.
#[derive(Debug, Clone)]
pub struct Stream(pub u64);

impl Stream {
    pub fn next_unit(&mut self) -> f64 {
        let u = unit(self.0);
        self.0 = self.0.wrapping_add(GAMMA);
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_splitmix64s_published_first_outputs() {
        // SplitMix64 seeded with 0: its first output is mix(0).
        assert_eq!(mix(0), 0xE220_A839_7B1D_CDAF);
        let mut s = Stream(0);
        let first = s.next_unit();
        assert!((0.0..1.0).contains(&first));
        assert_eq!(s.0, GAMMA);
        assert!((unit(GAMMA) - s.next_unit()).abs() < f64::EPSILON);
    }
}
