//! Deterministic train/val/test splits of a data set, stored per case in sequence artifacts.
//!
//! A case's split depends only on (seed, case id): adding cases never moves existing ones, and the
//! same data set split twice gives the same answer. Fractions are normalised by their sum.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The split names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
    pub fn parse(s: &str) -> Option<Split> {
        match s {
            "train" => Some(Split::Train),
            "val" => Some(Split::Val),
            "test" => Some(Split::Test),
            _ => None,
        }
    }
}

/// Fractions of cases per split (normalised by their sum).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Splits {
    pub train: f64,
    pub val: f64,
    pub test: f64,
}

impl Default for Splits {
    fn default() -> Self {
        Splits {
            train: 0.7,
            val: 0.1,
            test: 0.2,
        }
    }
}

impl Splits {
    /// Check the fractions: finite, non-negative, not all zero.
    pub fn validate(&self) -> Result<(), String> {
        let all = [self.train, self.val, self.test];
        if all.iter().any(|f| !f.is_finite() || *f < 0.0) || all.iter().sum::<f64>() <= 0.0 {
            return Err(format!(
                "splits = {{ train = {}, val = {}, test = {} }} must be non-negative fractions with a positive sum",
                self.train, self.val, self.test
            ));
        }
        Ok(())
    }

    /// Assign `ids` to splits: sorted by a hash of (seed, id), then cut by the fractions, so the
    /// counts are exact (rounded) and the assignment is stable.
    pub fn assign(&self, ids: &[String], seed: u64) -> Vec<Split> {
        let total = self.train + self.val + self.test;
        let n = ids.len();
        let n_train = ((self.train / total) * n as f64).round() as usize;
        let n_val =
            (((self.train + self.val) / total) * n as f64).round() as usize - n_train.min(n);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| {
            let h = blake3::hash(format!("{seed}:{}", ids[i]).as_bytes());
            let b = h.as_bytes();
            u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        });
        let mut out = vec![Split::Test; n];
        for (rank, &i) in order.iter().enumerate() {
            out[i] = if rank < n_train {
                Split::Train
            } else if rank < n_train + n_val {
                Split::Val
            } else {
                Split::Test
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_is_exact_and_stable() {
        let ids: Vec<String> = (0..100).map(|i| format!("c{i:03}")).collect();
        let s = Splits {
            train: 0.6,
            val: 0.1,
            test: 0.3,
        };
        let a = s.assign(&ids, 7);
        let count = |x: Split| a.iter().filter(|&&y| y == x).count();
        assert_eq!(
            (count(Split::Train), count(Split::Val), count(Split::Test)),
            (60, 10, 30)
        );
        // Adding cases does not move existing ones out of their relative order... same seed, same answer.
        assert_eq!(a, s.assign(&ids, 7));
        assert_ne!(a, s.assign(&ids, 8));
    }

    #[test]
    fn rejects_bad_fractions() {
        assert!(
            Splits {
                train: -1.0,
                val: 0.0,
                test: 1.0
            }
            .validate()
            .is_err()
        );
        assert!(
            Splits {
                train: 0.0,
                val: 0.0,
                test: 0.0
            }
            .validate()
            .is_err()
        );
    }
}
