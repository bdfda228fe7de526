//! Sharing one process's workers between targets, so that a slow or rate-limited vendor
//! never holds every worker while another target's jobs wait (found by the chaos test: a
//! Carbon Black 429 storm stalled Contrast provisioning, every worker waiting at Carbon
//! Black's gate).
//!
//! Rules, for each claim:
//! 1. Reserve: a free worker may take a job of any target while more workers are free than
//!    there are targets with no job in flight; otherwise only jobs of targets with none in
//!    flight. So every target can always start a job, and one busy target alone may still
//!    use every worker but (targets − 1).
//! 2. Fair share first: the claim is tried first without the targets that already have
//!    `ceil(workers / targets)` jobs in flight, and only when none of the others has a due
//!    job with rule 1 alone. A target with work thus gets its share, not just one worker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug)]
pub struct WorkerShare {
    workers: usize,
    targets: Vec<String>,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
    /// Held from choosing the excluded targets until the claimed job is counted, so two
    /// workers never both take the last worker a target was keeping.
    claiming: tokio::sync::Mutex<()>,
}

/// One job in flight; dropping it (job finished, or its worker gave up) frees the slot.
#[derive(Debug)]
pub struct Slot {
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
    target: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = lock(&self.in_flight);
        if let Some(n) = map.get_mut(&self.target) {
            *n = n.saturating_sub(1);
        }
    }
}

fn lock(m: &Mutex<HashMap<String, usize>>) -> MutexGuard<'_, HashMap<String, usize>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The targets a free worker must skip now (see the module docs).
pub fn excluded(
    workers: usize,
    targets: &[String],
    in_flight: &HashMap<String, usize>,
) -> Vec<String> {
    let busy = |t: &String| in_flight.get(t).copied().unwrap_or(0) > 0;
    let total: usize = in_flight.values().sum();
    let free = workers.saturating_sub(total);
    let idle = targets.iter().filter(|t| !busy(t)).count();
    if free > idle {
        return Vec::new();
    }
    targets.iter().filter(|t| busy(t)).cloned().collect()
}

/// The exclusion lists to claim with, in order (see the module docs).
pub fn passes(
    workers: usize,
    targets: &[String],
    in_flight: &HashMap<String, usize>,
) -> Vec<Vec<String>> {
    let reserve = excluded(workers, targets, in_flight);
    let share = workers.div_ceil(targets.len().max(1)).max(1);
    let fair: Vec<String> = targets
        .iter()
        .filter(|t| reserve.contains(t) || in_flight.get(t.as_str()).copied().unwrap_or(0) >= share)
        .cloned()
        .collect();
    if fair == reserve {
        vec![reserve]
    } else {
        vec![fair, reserve]
    }
}

impl WorkerShare {
    pub fn new(workers: usize, mut targets: Vec<String>) -> Self {
        targets.sort();
        Self {
            workers,
            targets,
            in_flight: Arc::default(),
            claiming: tokio::sync::Mutex::new(()),
        }
    }

    /// Serialises claims; hold the guard until [`Self::enter`] counted the claimed job.
    pub async fn claiming(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.claiming.lock().await
    }

    /// The targets to skip when claiming now: try each list in turn until a job is found.
    pub fn passes(&self) -> Vec<Vec<String>> {
        passes(self.workers, &self.targets, &lock(&self.in_flight))
    }

    /// The configured targets not in `except`: whom a pass with exclusions claims from. A
    /// job of a target no longer configured is claimed only by a pass without exclusions.
    pub fn others(&self, except: &[String]) -> Vec<String> {
        self.targets
            .iter()
            .filter(|t| !except.contains(t))
            .cloned()
            .collect()
    }

    /// Counts a claimed job of `target` until the returned slot is dropped.
    pub fn enter(&self, target: &str) -> Slot {
        *lock(&self.in_flight).entry(target.to_string()).or_insert(0) += 1;
        Slot {
            in_flight: self.in_flight.clone(),
            target: target.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fair_share_is_tried_first() {
        let t = names(&["c", "cb"]);
        let none = HashMap::new();
        assert_eq!(
            passes(4, &t, &none),
            vec![Vec::<String>::new()],
            "one query when idle"
        );
        let m = HashMap::from([("cb".to_string(), 2)]);
        assert_eq!(passes(4, &t, &m), vec![names(&["cb"]), vec![]]);
        let m = HashMap::from([("cb".to_string(), 2), ("c".to_string(), 1)]);
        assert_eq!(passes(4, &t, &m), vec![names(&["cb"]), vec![]]);
        let m = HashMap::from([("cb".to_string(), 1), ("c".to_string(), 1)]);
        assert_eq!(passes(4, &t, &m), vec![Vec::<String>::new()]);
    }

    #[test]
    fn one_busy_target_leaves_a_worker_for_each_other_target() {
        let share = WorkerShare::new(4, names(&["c", "cb"]));
        let mut slots = Vec::new();
        for _ in 0..3 {
            // The last pass (the reserve rule alone) lets cb in.
            assert_eq!(share.passes().last(), Some(&vec![]));
            slots.push(share.enter("cb"));
        }
        // One worker left and `c` has nothing in flight: it is kept for `c`.
        assert_eq!(share.passes(), vec![names(&["cb"])]);
        let c = share.enter("c");
        assert_eq!(share.passes(), vec![names(&["c", "cb"])]);
        drop(c);
        drop(slots.pop());
        assert_eq!(
            share.passes(),
            vec![names(&["cb"]), vec![]],
            "a slot freed: cb may take it when c has nothing due"
        );
    }

    #[test]
    fn two_storming_targets_cannot_starve_a_third() {
        let t = names(&["a", "b", "c"]);
        let mut m = HashMap::from([("a".to_string(), 2), ("b".to_string(), 1)]);
        assert_eq!(excluded(4, &t, &m), names(&["a", "b"]));
        // Two workers free, kept for the two idle targets.
        m.insert("b".into(), 0);
        assert_eq!(excluded(4, &t, &m), names(&["a"]));
        m.insert("a".into(), 1);
        assert!(excluded(4, &t, &m).is_empty(), "3 free, 2 idle targets");
    }

    #[test]
    fn a_single_target_may_use_every_worker() {
        let t = names(&["only"]);
        let m = HashMap::from([("only".to_string(), 3)]);
        assert!(excluded(4, &t, &m).is_empty());
        let m = HashMap::from([("only".to_string(), 4)]);
        assert_eq!(
            excluded(4, &t, &m),
            names(&["only"]),
            "no worker free at all"
        );
    }
}
