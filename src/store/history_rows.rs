//! The history rows a finished job writes: every vendor call, then the outcome, in one
//! `INSERT` (`Store::finish_job`).

/// History rows of one statement at most (4 parameters each; SQLite allows 32766).
pub(super) const HISTORY_CHUNK: usize = 500;

/// `INSERT` of `calls` call rows (`$5…` four per call) and, when `outcome`, the outcome row
/// (the last parameter); `$1`–`$4` are the job's target, type, id and the time.
pub(super) fn history_sql(calls: usize, outcome: bool) -> String {
    let mut rows: Vec<String> = (0..calls)
        .map(|i| {
            let b = 5 + 4 * i;
            format!(
                "($1, $2, $3, $4, 'call', ${b}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3
            )
        })
        .collect();
    if outcome {
        let m = 5 + 4 * calls;
        rows.push(format!(
            "($1, $2, $3, $4, 'outcome', NULL, NULL, NULL, ${m})"
        ));
    }
    format!(
        "INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, path, status, message) VALUES {}",
        rows.join(", ")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_row_per_call_then_the_outcome_with_its_own_parameters() {
        assert_eq!(
            super::history_sql(2, true),
            "INSERT INTO sync_history (target, resource_type, resource_id, at, kind, method, path, status, message) VALUES \
             ($1, $2, $3, $4, 'call', $5, $6, $7, $8), ($1, $2, $3, $4, 'call', $9, $10, $11, $12), \
             ($1, $2, $3, $4, 'outcome', NULL, NULL, NULL, $13)"
        );
        assert!(
            super::history_sql(0, true)
                .ends_with("VALUES ($1, $2, $3, $4, 'outcome', NULL, NULL, NULL, $5)")
        );
        assert!(!super::history_sql(3, false).contains("outcome"));
    }
}
