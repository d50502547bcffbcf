//! Seeded workloads shared by the benches, so every cache sees the same keys in the same order.

#![allow(dead_code, unreachable_pub)] // each bench uses part of this module

/// SplitMix64: a tiny, fast, seedable generator. Good enough to draw benchmark keys.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `count` keys drawn from a Zipf distribution over `0..universe` with exponent `alpha`
/// (key k has probability proportional to 1 / (k + 1)^alpha), by inverting the CDF.
///
/// Keys are scattered by a fixed odd multiplier so that popular keys are not also numerically
/// adjacent, which would flatter any cache that hashes poorly.
pub fn zipf_keys(universe: u64, alpha: f64, count: usize, seed: u64) -> Vec<u64> {
    let mut cdf = Vec::with_capacity(universe as usize);
    let mut total = 0.0;
    for k in 0..universe {
        total += 1.0 / ((k + 1) as f64).powf(alpha);
        cdf.push(total);
    }
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|_| {
            let target = rng.next_f64() * total;
            let rank = cdf.partition_point(|&c| c < target) as u64;
            rank.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        })
        .collect()
}

/// `count` keys uniform over `0..universe`.
pub fn uniform_keys(universe: u64, count: usize, seed: u64) -> Vec<u64> {
    let mut rng = SplitMix64::new(seed);
    (0..count).map(|_| rng.next_u64() % universe).collect()
}
