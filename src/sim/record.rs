//! Recorded vendor-route calls, so tests and scripts can assert what a connector sent.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One request a simulator received on a vendor route (control routes are not recorded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedCall {
    pub method: String,
    /// Path without the query string, exactly as received (still percent-encoded).
    pub path: String,
    pub query: Option<String>,
    /// The request body parsed as JSON; a non-JSON body is kept as a JSON string; no body is `None`.
    pub body: Option<serde_json::Value>,
    /// The status the simulator answered with; `0` when the connection was dropped on purpose.
    pub status: u16,
    /// When the request arrived, epoch milliseconds.
    pub at_ms: i64,
}

/// Status recorded for a request whose connection was dropped by the `drop_rate` fault.
pub const DROPPED_STATUS: u16 = 0;

/// Append-only log of recorded calls.
#[derive(Debug, Default)]
pub struct Recorder {
    calls: Mutex<Vec<RecordedCall>>,
}

impl Recorder {
    pub fn push(&self, call: RecordedCall) {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
    }

    pub fn calls(&self) -> Vec<RecordedCall> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn clear(&self) {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
