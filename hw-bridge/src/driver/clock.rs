//! Tokio's monotonic clock as node-core time.

use node_core::Instant;

/// Maps tokio's monotonic clock to node-core time.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: tokio::time::Instant,
}

impl Clock {
    /// A clock whose [`Instant::ZERO`] is now.
    pub fn start() -> Self {
        Clock {
            start: tokio::time::Instant::now(),
        }
    }

    /// Microseconds since the start.
    pub fn now(&self) -> Instant {
        let us = self.start.elapsed().as_micros();
        Instant::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    /// The tokio instant of `at`, or `None` for [`Instant::MAX`] and other
    /// unrepresentable far futures.
    pub fn deadline(&self, at: Instant) -> Option<tokio::time::Instant> {
        if at == Instant::MAX {
            return None;
        }
        self.start
            .checked_add(std::time::Duration::from_micros(at.as_micros()))
    }
}
