//! Counting the tool calls in flight, so that a graceful shutdown can wait until none is left.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// The tool calls running now, and a signal for the moment their number drops to zero.
#[derive(Debug, Default)]
pub(crate) struct InFlightCalls {
    running: AtomicUsize,
    idle: Notify,
}

impl InFlightCalls {
    /// Counts one call as running until the returned guard is dropped, so that a call that
    /// fails or is cancelled half-way is uncounted as surely as one that finishes.
    pub(crate) fn start(&self) -> InFlightCall<'_> {
        self.running.fetch_add(1, Ordering::SeqCst);
        InFlightCall(self)
    }

    /// Resolves once no call is running.
    pub(crate) async fn drained(&self) {
        loop {
            // The waiter is registered before the count is read: a call that ends between the
            // read and the wait would otherwise notify nobody, and the wait would never end.
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Counts one tool call in flight for as long as it lives.
pub(crate) struct InFlightCall<'calls>(&'calls InFlightCalls);

impl Drop for InFlightCall<'_> {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn drained_waits_for_the_last_call_in_flight() {
        let calls = InFlightCalls::default();
        calls.drained().await;
        let first = calls.start();
        let second = calls.start();
        let still_running = tokio::time::timeout(Duration::from_millis(20), calls.drained()).await;
        assert!(still_running.is_err(), "drained resolved while two calls were running");
        drop(first);
        let still_running = tokio::time::timeout(Duration::from_millis(20), calls.drained()).await;
        assert!(still_running.is_err(), "drained resolved while one call was running");
        let last_call_ends = async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(second);
        };
        let both = async { tokio::join!(calls.drained(), last_call_ends) };
        tokio::time::timeout(Duration::from_secs(5), both).await.expect("drained resolves once the last call ends");
    }
}
