//! Vendor connectors: one module per vendor, each the only place that knows that vendor's
//! URLs, headers, JSON and paging. Pure HTTP clients plus the vendor's convergence rules:
//! no SQL, no axum. The sync engine hands a connector the desired state of one resource and
//! what the mapping table remembers ([`VendorLink`]); the connector makes the vendor match
//! and returns the new link, recording every call it made in a [`CallLog`].

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub mod abnormal;
pub mod carbon_black;
pub mod contrast;
pub mod http;
mod login_index;

/// What the IdP wants one user to be, in vendor-neutral terms (built from the SCIM resource).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredUser {
    pub scim_id: String,
    /// SCIM `userName` (usually the login email).
    pub user_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// Primary email, else the first email, else `userName` when it looks like an email.
    pub email: Option<String>,
    /// Primary phone number, else the first one.
    pub phone: Option<String>,
    pub active: bool,
    /// SCIM `roles[].value`, the primary one first.
    pub roles: Vec<String>,
    /// displayNames of the SCIM groups (same target) the user is a member of.
    pub groups: Vec<String>,
}

/// What the IdP wants one group to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredGroup {
    pub scim_id: String,
    pub display_name: String,
    pub members: Vec<MemberRef>,
}

/// One member of a group: its SCIM id and, when the member user is already mapped at the
/// vendor, its vendor id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRef {
    pub scim_id: String,
    pub vendor_id: Option<String>,
}

/// What the mapping table remembers about a resource at the vendor. Connectors read it and
/// return the updated one; the engine stores it. Never holds a secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VendorLink {
    /// The vendor's id (Contrast `user_id`, Carbon Black numeric `user_id`, Contrast group id).
    pub vendor_id: Option<String>,
    /// The vendor's natural key (login / email) used to look the account up.
    pub vendor_key: Option<String>,
    /// Vendor-side status as the vendor names it (e.g. `PENDING_ACTIVATION`, `invited`).
    pub vendor_status: Option<String>,
    /// Connector-private memory of what was last applied (to skip no-op calls) and
    /// previous ids (e.g. a Carbon Black user deleted and re-created).
    #[serde(default)]
    pub applied: serde_json::Value,
}

/// Where a resource's sync stands, as shown in the mapping table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Accepted from the IdP, not yet applied.
    Pending,
    /// The vendor matches the desired state.
    Synced,
    /// A retryable failure; the engine will try again.
    Retrying,
    /// A permanent failure; needs a change of the resource or an admin retry.
    Failed,
    /// The account is disabled or deleted at the vendor, as desired.
    Deprovisioned,
    /// The resource has no counterpart at the vendor (e.g. a group with no access-group id).
    Unmapped,
    /// Read-only target (Abnormal): the resource is enriched, never written.
    Enrichment,
    /// Reconcile found the vendor differs from the desired state (`last_error` says how);
    /// the next successful sync clears it.
    Drift,
}

impl SyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::Pending => "pending",
            SyncState::Synced => "synced",
            SyncState::Retrying => "retrying",
            SyncState::Failed => "failed",
            SyncState::Deprovisioned => "deprovisioned",
            SyncState::Unmapped => "unmapped",
            SyncState::Enrichment => "enrichment",
            SyncState::Drift => "drift",
        }
    }

    pub fn parse(s: &str) -> Option<SyncState> {
        Some(match s {
            "pending" => SyncState::Pending,
            "synced" => SyncState::Synced,
            "retrying" => SyncState::Retrying,
            "failed" => SyncState::Failed,
            "deprovisioned" => SyncState::Deprovisioned,
            "unmapped" => SyncState::Unmapped,
            "enrichment" => SyncState::Enrichment,
            "drift" => SyncState::Drift,
            _ => return None,
        })
    }
}

/// The result of one successful convergence.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncOutcome {
    pub link: VendorLink,
    /// Synced, Deprovisioned, Unmapped or Enrichment.
    pub state: SyncState,
    /// A human note for the mapping table (e.g. "invitation sent", "2 API keys revoked").
    pub note: Option<String>,
}

/// Failures sorted the way the engine acts on them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    /// Timeouts, connection errors, 5xx, 429: try again later.
    #[error("{message}")]
    Retryable {
        message: String,
        /// The vendor's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
        /// True for a 429: the engine's limiter slows this target down.
        rate_limited: bool,
    },
    /// Other 4xx, validation, an impossible change: not retried until the resource changes
    /// or an admin retries. The message says what the vendor said or what cannot be done.
    #[error("{message}")]
    Permanent { message: String },
}

impl ConnectorError {
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent {
            message: message.into(),
        }
    }
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::Retryable {
            message: message.into(),
            retry_after: None,
            rate_limited: false,
        }
    }
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. })
    }
}

/// One vendor call, as recorded in the sync history. Path without query secrets; no headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub method: String,
    /// Path and query, e.g. `/Contrast/api/ng/ORG/users?offset=0&limit=25`.
    pub path: String,
    /// HTTP status, or None when no answer came (timeout, reset).
    pub status: Option<u16>,
    /// Short outcome text: "ok", "created user 123", the vendor's error message, "timeout".
    pub outcome: String,
    pub elapsed_ms: u64,
}

/// Collects the calls one convergence makes, in order.
#[derive(Debug, Default)]
pub struct CallLog {
    calls: Mutex<Vec<CallRecord>>,
}

impl CallLog {
    pub fn push(&self, rec: CallRecord) {
        if let Ok(mut g) = self.calls.lock() {
            g.push(rec);
        }
    }
    /// How many calls were recorded so far.
    pub fn len(&self) -> usize {
        self.calls.lock().map(|g| g.len()).unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The most recent call that did not succeed, if any.
    pub fn last_failure(&self) -> Option<CallRecord> {
        self.calls
            .lock()
            .ok()?
            .iter()
            .rev()
            .find(|c| c.outcome != "ok")
            .cloned()
    }
    pub fn take(&self) -> Vec<CallRecord> {
        self.calls
            .lock()
            .map(|mut g| std::mem::take(&mut *g))
            .unwrap_or_default()
    }
}

/// Gate every vendor call passes through: the engine's per-target rate limiter and
/// concurrency bound. `after` reports the status (or None for no answer) so an adaptive
/// limiter can back off on 429.
#[async_trait]
pub trait CallGate: Send + Sync {
    async fn before(&self);
    fn after(&self, status: Option<u16>);
}

/// A gate that lets everything through (tests, CLI tools).
pub struct OpenGate;

#[async_trait]
impl CallGate for OpenGate {
    async fn before(&self) {}
    fn after(&self, _status: Option<u16>) {}
}

/// An account as listed at the vendor, for reconcile / drift detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorAccount {
    pub vendor_id: String,
    /// Login / email, compared case-insensitively with SCIM userName.
    pub key: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub role: Option<String>,
    /// Enabled / active at the vendor (Carbon Black: present means enabled).
    pub enabled: bool,
    pub status: Option<String>,
}

/// A write connector (Contrast, Carbon Black). The engine calls it with one resource at a
/// time and never concurrently for the same resource.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Converge one user. `desired == None` means the SCIM user was deleted.
    /// Must never create a second vendor account: when `link.vendor_id` is None, look the
    /// user up by its natural key first and adopt it.
    async fn sync_user(
        &self,
        desired: Option<&DesiredUser>,
        link: &VendorLink,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError>;

    /// Converge one group's membership. `desired == None` means the SCIM group was deleted.
    async fn sync_group(
        &self,
        desired: Option<&DesiredGroup>,
        link: &VendorLink,
        log: &CallLog,
    ) -> Result<SyncOutcome, ConnectorError>;

    /// Every account at the vendor (all pages), for reconcile.
    async fn list_accounts(&self, log: &CallLog) -> Result<Vec<VendorAccount>, ConnectorError>;

    /// The role this connector would apply for `desired` (reconcile compares it with the
    /// vendor's); None when it cannot say (invalid SCIM role, no role concept).
    fn expected_role(&self, _desired: &DesiredUser) -> Option<String> {
        None
    }
}
