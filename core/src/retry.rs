//! The one retry/backoff helper: exponential backoff between a first and a maximum delay, whose sleep
//! wakes on shutdown.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Exponential backoff: `first`, doubling up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

impl Backoff {
    /// 200 ms doubling up to 10 s: the stages' retries of an unavailable broker or registry.
    pub fn new() -> Backoff {
        Backoff::between(Duration::from_millis(200), Duration::from_secs(10))
    }

    pub fn between(first: Duration, max: Duration) -> Backoff {
        Backoff { next: first.min(max), max }
    }

    /// The delay the next sleep will take, then doubles it (up to the maximum).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    /// Sleep the next delay. False when `shutdown` came first (the caller gives up).
    pub async fn sleep(&mut self, shutdown: &CancellationToken) -> bool {
        let d = self.next_delay();
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = shutdown.cancelled() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_maximum() {
        let mut b = Backoff::between(Duration::from_millis(100), Duration::from_millis(350));
        let delays: Vec<u128> = (0..4).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 350, 350]);
    }

    #[tokio::test]
    async fn a_sleep_wakes_on_shutdown() {
        let mut b = Backoff::between(Duration::from_secs(3600), Duration::from_secs(3600));
        let token = CancellationToken::new();
        token.cancel();
        assert!(!b.sleep(&token).await);
    }
}
