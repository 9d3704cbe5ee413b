//! A small deterministic random source (xorshift64*), so that a seed
//! reproduces a whole demo.

/// Deterministic pseudo-random numbers.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A number in [low, high).
    pub fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// A log-normal-ish duration around `median` with spread `spread` (0.3 is moderate).
    pub fn around(&mut self, median: f64, spread: f64) -> f64 {
        let normal: f64 = (0..4).map(|_| self.unit()).sum::<f64>() - 2.0;
        median * (normal * spread * 1.7).exp()
    }

    /// `n` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let random = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&random[..chunk.len()]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_reproduces_the_sequence_and_values_stay_in_range() {
        let mut first = Rng::new(7);
        let mut second = Rng::new(7);
        for _ in 0..1000 {
            assert_eq!(first.next_u64(), second.next_u64());
            let unit = first.unit();
            second.unit();
            assert!((0.0..1.0).contains(&unit));
        }
        let ids: std::collections::HashSet<[u8; 16]> = (0..100).map(|_| first.bytes()).collect();
        assert_eq!(ids.len(), 100);
    }
}
