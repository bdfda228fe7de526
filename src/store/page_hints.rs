//! Keyset continuation for `startIndex` paging. An IdP importing users walks pages in
//! order (`startIndex=1, 101, 201, …`); a page found by position costs a block of the
//! `seq` index (Postgres; `page_position.rs`) or every row before it (`OFFSET`, SQLite and
//! filtered lists). After serving a full page in the default order (`seq`), the
//! store remembers where it ended; a request for the next position of the same query then
//! seeks past that key (`seq > …`) instead of positioning the page again.
//!
//! A hint is only a shortcut to the same position: it is bounded in number and age, and a
//! miss (other replica, evicted, first page, explicit `sortBy`) falls back to positioning by
//! count. The answers differ only when resources *before* the position were deleted between
//! the two requests: the count then skips live rows the client has not seen, the seek does not.

use std::sync::Mutex;

use hashlink::LruCache;

/// Most remembered positions per process.
const CAPACITY: usize = 4096;
/// A hint older than this (ms) is ignored.
const MAX_AGE_MS: i64 = 10 * 60 * 1000;

/// Where a page ended: the last row's `seq` (the default order's key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageEnd {
    pub seq: i64,
}

#[derive(Debug)]
struct Entry {
    end: PageEnd,
    at_ms: i64,
}

/// Remembered page ends, keyed by query identity and 0-based end position.
#[derive(Debug)]
pub struct PageHints {
    map: Mutex<LruCache<(String, i64), Entry>>,
}

impl Default for PageHints {
    fn default() -> Self {
        PageHints {
            map: Mutex::new(LruCache::new(CAPACITY)),
        }
    }
}

impl PageHints {
    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<(String, i64), Entry>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key the page of `query` ending just before `offset` stopped at, if fresh.
    pub fn get(&self, query: &str, offset: i64, now_ms: i64) -> Option<PageEnd> {
        let mut map = self.lock();
        let key = (query.to_string(), offset);
        match map.get(&key) {
            Some(e) if now_ms - e.at_ms <= MAX_AGE_MS => Some(e.end),
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Remembers that the page of `query` ending at position `end_offset` stopped at `end`.
    pub fn put(&self, query: String, end_offset: i64, end: PageEnd, now_ms: i64) {
        self.lock()
            .insert((query, end_offset), Entry { end, at_ms: now_ms });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(seq: i64) -> PageEnd {
        PageEnd { seq }
    }

    #[test]
    fn remembers_per_query_and_position() {
        let h = PageHints::default();
        h.put("q".into(), 100, end(7), 0);
        assert_eq!(h.get("q", 100, 1), Some(end(7)));
        assert_eq!(h.get("q", 200, 1), None);
        assert_eq!(h.get("other", 100, 1), None);
    }

    #[test]
    fn old_hints_are_ignored() {
        let h = PageHints::default();
        h.put("q".into(), 100, end(7), 0);
        assert_eq!(h.get("q", 100, MAX_AGE_MS + 1), None);
        assert_eq!(h.get("q", 100, 0), None, "an expired hint is dropped");
    }

    #[test]
    fn bounded() {
        let h = PageHints::default();
        for i in 0..(CAPACITY as i64 + 10) {
            h.put("q".into(), i, end(7), 0);
        }
        assert_eq!(h.get("q", 0, 0), None, "the oldest are evicted");
        assert!(h.get("q", CAPACITY as i64 + 9, 0).is_some());
    }
}
