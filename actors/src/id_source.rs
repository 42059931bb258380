//! Id sources: sequential ones for simulations (deterministic), random ones for production.

use plera_domain::ports::IdSource;
use std::sync::atomic::{AtomicU64, Ordering};

/// `kind-1`, `kind-2`, ...: deterministic as long as ids are asked for in a deterministic order.
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl IdSource for SequentialIds {
    fn next_id(&self, kind: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{kind}-{n}")
    }
}

/// 128 random bits from the operating system, hex-encoded, behind the kind.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn next_id(&self, kind: &str) -> String {
        format!("{kind}-{}", random_hex(16))
    }
}

/// `bytes` random bytes from the OS as hex. Falls back to a time-and-counter mix only if the OS
/// refuses (it does not on any supported platform), never to a constant.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::getrandom(&mut buf).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        for (i, b) in buf.iter_mut().enumerate() {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            *b = (plera_domain::seed::splitmix64(nanos ^ n ^ i as u64) & 0xff) as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_count_up() {
        let ids = SequentialIds::default();
        assert_eq!(ids.next_id("acc"), "acc-1");
        assert_eq!(ids.next_id("lead"), "lead-2");
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(RandomIds.next_id("x"), RandomIds.next_id("x"));
        assert_eq!(random_hex(16).len(), 32);
    }
}
