//! The gate slot of one vendor call, released on every path (see [`InFlight`]).

use std::time::Instant;

use reqwest::Method;

use crate::connectors::{CallGate, CallLog, CallRecord};

/// One call between the gate's `before` and `after`. The engine cancels a job whose
/// convergence outlives its budget, dropping this mid-call: the drop still gives the gate
/// its slot back (else the target's concurrency permits leak until every call waits
/// forever) and records the abandoned call, so the history shows what was in flight.
pub(super) struct InFlight<'a> {
    gate: &'a dyn CallGate,
    log: &'a CallLog,
    method: &'a Method,
    path: &'a str,
    started: Instant,
    done: bool,
}

impl<'a> InFlight<'a> {
    /// Right after `gate.before()` returned.
    pub fn start(
        gate: &'a dyn CallGate,
        log: &'a CallLog,
        method: &'a Method,
        path: &'a str,
    ) -> Self {
        Self {
            gate,
            log,
            method,
            path,
            started: Instant::now(),
            done: false,
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The answer came (or the transport failed): report it to the gate; the elapsed ms.
    pub fn finish(mut self, status: Option<u16>) -> u64 {
        self.done = true;
        self.gate.after(status);
        self.elapsed_ms()
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.gate.after(None);
        let elapsed_ms = self.elapsed_ms();
        self.log.push(CallRecord {
            method: self.method.to_string(),
            path: self.path.to_string(),
            status: None,
            outcome: format!(
                "abandoned after {elapsed_ms} ms: cancelled (the job ran out of time)"
            ),
            elapsed_ms,
        });
    }
}
