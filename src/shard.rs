//! Splitting a sync across the jobs of a GitHub Actions matrix: shard `i/n` takes the targets
//! whose hash falls in slot `i`. Every target lands in exactly one shard, entries sharing a
//! target (keys rendering one QCI tag) land together, and a target keeps its shard when other
//! entries come and go, so a shard's logs stay comparable from run to run.

use sha2::{Digest, Sha256};
use std::fmt;

/// Shard `index` of `count`, both 1-based (`1/4` … `4/4`), as a matrix writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Reads `i/n` with 1 ≤ i ≤ n.
    pub fn parse(text: &str) -> Result<Self, ShardError> {
        let invalid = || ShardError(text.to_owned());
        let (index, count) = text.trim().split_once('/').ok_or_else(invalid)?;
        let index: u32 = index.trim().parse().map_err(|_| invalid())?;
        let count: u32 = count.trim().parse().map_err(|_| invalid())?;
        if index == 0 || count == 0 || index > count {
            return Err(invalid());
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard mirrors `target` (the full target reference).
    pub fn contains(&self, target: &str) -> bool {
        let hash = Sha256::digest(target.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

/// A shard that is not `i/n` with 1 ≤ i ≤ n.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard `{0}`: expected `i/n` with 1 ≤ i ≤ n, such as `2/4`")]
pub struct ShardError(String);

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_read_strictly() {
        assert_eq!(Shard::parse(" 2/4 ").unwrap().to_string(), "2/4");
        for bad in ["0/4", "5/4", "1/0", "4", "a/b", "1/4/2", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_target_is_in_exactly_one_shard_and_shards_are_balanced() {
        let targets: Vec<String> = (0..521)
            .map(|i| format!("quay.io/openshift/ci:ci_tool-{i}_v{i}"))
            .collect();
        let shards: Vec<Shard> = (1..=4)
            .map(|i| Shard::parse(&format!("{i}/4")).unwrap())
            .collect();
        let mut sizes = [0usize; 4];
        for target in &targets {
            let owners: Vec<usize> = (0..4).filter(|&i| shards[i].contains(target)).collect();
            assert_eq!(owners.len(), 1, "{target}");
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| (100..=160).contains(&n)), "{sizes:?}");
        assert!(Shard::parse("1/1").unwrap().contains("anything"));
    }
}
