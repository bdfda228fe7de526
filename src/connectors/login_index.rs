//! Which logins a vendor has, remembered between jobs, for vendors with no search.
//!
//! Contrast and Carbon Black can only list their users page by page, and a connector looks
//! a login up before it creates an account (ARCHITECTURE.md, invariant 4). For a new user
//! that look-up reads every page: N/100 calls per create at Contrast (100 a page), about
//! 500k calls to import 10k users (docs/performance.md, round 27). A [`LoginIndex`] keeps
//! the logins of the last whole listing for `max_age` after it ended, so that a burst of
//! creates costs one listing per `max_age`, not one per user.
//!
//! **What it may answer, and why no account is created twice:**
//! - "Absent" only from a listing younger than `max_age`, and only for a login this
//!   process has not asked the vendor to create since that listing began (`posted`, kept
//!   from before the call until a listing that began after its answer). So a create whose
//!   answer was lost, or a login deleted in SCIM and created again, is looked up afresh.
//! - "May exist": the connector looks it up afresh, as without the index.
//! - What the index cannot see (an admin or another replica creating the login within
//!   `max_age`) makes the vendor refuse the create; the connector then looks up afresh
//!   and adopts the account (`contrast/user.rs`, `carbon_black/user.rs`).
//! - `max_age` zero turns it off: every look-up is fresh, as before round 27.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::http::CallError;
use super::{ConnectorError, SyncOutcome};

#[derive(Debug)]
pub(crate) struct LoginIndex {
    max_age: Duration,
    state: Mutex<State>,
    /// One listing at a time: the others wait for it and use it.
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    /// The vendor's logins (lowercase), and when the listing that found them ended.
    listed: Option<(Instant, HashSet<String>)>,
    /// Logins this process asked the vendor to create: `None` while the call is in flight,
    /// else when its answer came.
    posted: HashMap<String, Option<Instant>>,
}

/// What a look-up before a create found.
pub(crate) enum Lookup<U> {
    Found(U),
    /// Not listed: by a listing made now, or (`cached`) by one younger than the index's age.
    Absent {
        cached: bool,
    },
}

impl<U> From<Option<U>> for Lookup<U> {
    fn from(found: Option<U>) -> Self {
        match found {
            Some(u) => Lookup::Found(u),
            None => Lookup::Absent { cached: false },
        }
    }
}

/// Whether a refused create is checked by a fresh look-up: a 409 always (created meanwhile
/// by someone else), a 400 or 422 when the look-up's "absent" came from the index.
pub(crate) fn refused_as_taken(status: Option<u16>, cached: bool) -> bool {
    status == Some(409) || (cached && matches!(status, Some(400 | 422)))
}

/// After a refused create and a fresh look-up: adopts what it `found`; else a 409 is
/// retried (the vendor has the login but does not list it yet) and another refusal stands.
pub(crate) async fn after_refusal<U, A>(
    vendor: &str,
    login: &str,
    refused: CallError,
    found: Option<U>,
    adopt: impl FnOnce(U) -> A,
) -> Result<SyncOutcome, ConnectorError>
where
    A: Future<Output = Result<SyncOutcome, ConnectorError>>,
{
    match found {
        Some(u) => adopt(u).await,
        None if refused.status == Some(409) => Err(ConnectorError::retryable(format!(
            "{vendor} says {login} exists (409) but does not list the user yet"
        ))),
        None => Err(refused.into()),
    }
}

/// A listing in progress: [`LoginIndex::store`] it when done.
pub(crate) struct Refresh<'a> {
    _one: tokio::sync::MutexGuard<'a, ()>,
    began: Instant,
}

impl LoginIndex {
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            state: Mutex::new(State::default()),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.max_age.is_zero()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Some(false)`: absent from a fresh listing and not asked for since; `Some(true)`:
    /// may exist, look it up; `None`: no fresh listing, list again.
    pub fn cached(&self, login: &str) -> Option<bool> {
        let st = self.lock();
        let (ended, logins) = st.listed.as_ref()?;
        if ended.elapsed() >= self.max_age {
            return None;
        }
        let lc = login.to_lowercase();
        Some(st.posted.contains_key(&lc) || logins.contains(&lc))
    }

    /// Waits for any listing in progress; then the caller checks [`Self::cached`] again and
    /// lists only if it is still `None`.
    pub async fn refreshing(&self) -> Refresh<'_> {
        let one = self.refresh.lock().await;
        Refresh {
            _one: one,
            began: Instant::now(),
        }
    }

    /// Keeps a whole listing's logins, and forgets the creates it already shows.
    pub fn store<'l>(&self, refresh: Refresh<'_>, logins: impl Iterator<Item = &'l str>) {
        let set: HashSet<String> = logins.map(str::to_lowercase).collect();
        let mut st = self.lock();
        st.posted
            .retain(|_, answered| !matches!(answered, Some(t) if *t < refresh.began));
        st.listed = Some((Instant::now(), set));
    }

    /// The look-up of `login` before a create: "absent" from the index when it knows,
    /// else `find` (a listing that may stop at the login); with no fresh listing, `list_all`
    /// (the whole listing, kept here), which one caller makes while the others wait for it.
    pub async fn look_up<U, E, F, L>(
        &self,
        login: &str,
        find: impl FnOnce() -> F,
        list_all: impl FnOnce() -> L,
        login_of: impl Fn(&U) -> Option<&str>,
    ) -> Result<Lookup<U>, E>
    where
        F: Future<Output = Result<Option<U>, E>>,
        L: Future<Output = Result<Vec<U>, E>>,
    {
        if !self.enabled() {
            return Ok(find().await?.into());
        }
        let mut cached = self.cached(login);
        let mut refresh = None;
        if cached.is_none() {
            let r = self.refreshing().await;
            // Another caller may have listed while this one waited.
            cached = self.cached(login);
            refresh = Some(r);
        }
        match (cached, refresh) {
            (Some(false), _) => Ok(Lookup::Absent { cached: true }),
            (None, Some(refresh)) => {
                let all = list_all().await?;
                self.store(refresh, all.iter().filter_map(&login_of));
                let is = |u: &U| login_of(u).is_some_and(|l| l.eq_ignore_ascii_case(login));
                Ok(all.into_iter().find(is).into())
            }
            // "May exist": listed afresh, without keeping others from the index meanwhile.
            (_, refresh) => {
                drop(refresh);
                Ok(find().await?.into())
            }
        }
    }

    /// Before a create call of `login`.
    pub fn posting(&self, login: &str) {
        if self.enabled() {
            self.lock().posted.insert(login.to_lowercase(), None);
        }
    }

    /// After the create call of `login` answered (or failed).
    pub fn answered(&self, login: &str) {
        if self.enabled() {
            let now = Instant::now();
            self.lock().posted.insert(login.to_lowercase(), Some(now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn list(ix: &LoginIndex, logins: &[&str]) {
        let r = ix.refreshing().await;
        ix.store(r, logins.iter().copied());
    }

    #[tokio::test(start_paused = true)]
    async fn a_listing_answers_until_it_is_max_age_old() {
        let ix = LoginIndex::new(Duration::from_secs(30));
        assert_eq!(ix.cached("a@x.com"), None, "nothing listed yet");
        list(&ix, &["A@x.com"]).await;
        assert_eq!(ix.cached("a@X.com"), Some(true), "case-insensitive");
        assert_eq!(ix.cached("b@x.com"), Some(false));
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(ix.cached("b@x.com"), Some(false));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(ix.cached("b@x.com"), None, "stale: list again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_login_asked_for_may_exist_until_a_later_listing() {
        let ix = LoginIndex::new(Duration::from_secs(30));
        list(&ix, &[]).await;
        ix.posting("new@x.com");
        assert_eq!(ix.cached("new@x.com"), Some(true), "in flight");
        // A listing that began while the call was in flight may have missed it.
        let r = ix.refreshing().await;
        tokio::time::advance(Duration::from_secs(1)).await;
        ix.answered("new@x.com");
        ix.store(r, std::iter::empty());
        assert_eq!(
            ix.cached("new@x.com"),
            Some(true),
            "answered after the listing began"
        );
        // One that began after the answer has it, or it was not created.
        tokio::time::advance(Duration::from_secs(1)).await;
        list(&ix, &[]).await;
        assert_eq!(ix.cached("new@x.com"), Some(false));
    }

    /// Two look-ups with no fresh listing: one lists, the other waits and uses it.
    #[tokio::test(start_paused = true)]
    async fn concurrent_look_ups_share_one_listing() {
        let ix = LoginIndex::new(Duration::from_secs(30));
        let lists = std::sync::atomic::AtomicUsize::new(0);
        let finds = std::sync::atomic::AtomicUsize::new(0);
        let one = |login: &'static str| {
            ix.look_up(
                login,
                || async {
                    finds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok::<_, ()>(None)
                },
                || async {
                    lists.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(vec!["old@x.com".to_string()])
                },
                |u: &String| Some(u.as_str()),
            )
        };
        let (a, b) = tokio::join!(one("new@x.com"), one("old@x.com"));
        assert!(matches!(a, Ok(Lookup::Absent { .. })));
        // The second found `old` in the index the first made, and looked it up afresh.
        assert!(matches!(b, Ok(Lookup::Absent { cached: false })));
        assert_eq!(lists.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(finds.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn max_age_zero_never_answers() {
        let ix = LoginIndex::new(Duration::ZERO);
        assert!(!ix.enabled());
        list(&ix, &["a@x.com"]).await;
        assert_eq!(ix.cached("a@x.com"), None);
        assert_eq!(ix.cached("b@x.com"), None);
    }
}
