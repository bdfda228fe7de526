//! SQLite: a Unicode `lower()` in place of the built-in one, which folds ASCII only.
//!
//! Case-insensitive SCIM attributes are compared as `lower(expr)` against the value
//! lowercased in Rust (`scim/filter_sql/leaf.rs`, `sort.rs`, the admin mapping search).
//! With SQLite's own `lower()`, `name.familyName eq "MÜLLER"` did not find "Müller" while
//! the same filter on Postgres (a UTF-8 ctype) did. Every connection the store opens
//! replaces `lower(X)` with one that applies Rust's `str::to_lowercase`, the function the
//! bridge's own `*_lc` columns are made with, so both dialects fold alike.
//!
//! No SQLite index, view or trigger of ours calls `lower()`; one must not (a connection
//! without this function, such as the `sqlite3` shell, would fold differently).

use std::ffi::{c_int, c_void};

use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;

/// Registers the Unicode `lower(X)` on `conn` (an `after_connect` hook).
pub(crate) async fn register(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is this connection's open handle, locked for the duration of the call;
    // the name is a NUL-terminated static string; `unicode_lower` matches the xFunc
    // signature and reads exactly the one argument it is registered with.
    let rc = unsafe {
        ffi::sqlite3_create_function_v2(
            db,
            c"lower".as_ptr(),
            1,
            ffi::SQLITE_UTF8 | ffi::SQLITE_DETERMINISTIC,
            std::ptr::null_mut::<c_void>(),
            Some(unicode_lower),
            None,
            None,
            None,
        )
    };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Protocol(format!(
            "registering the Unicode lower() failed (SQLite code {rc})"
        )))
    }
}

/// `lower(X)`: NULL for NULL, else X as text, lowercased by Unicode's rules.
unsafe extern "C" fn unicode_lower(
    ctx: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes `argc` valid values in `argv` (1, as registered); the text
    // pointer it returns stays valid until the value is changed, and is only read here
    // for `sqlite3_value_bytes` bytes; the result is copied by SQLite (SQLITE_TRANSIENT).
    unsafe {
        if argc != 1 || argv.is_null() {
            ffi::sqlite3_result_null(ctx);
            return;
        }
        let value = *argv;
        if ffi::sqlite3_value_type(value) == ffi::SQLITE_NULL {
            ffi::sqlite3_result_null(ctx);
            return;
        }
        let text = ffi::sqlite3_value_text(value);
        if text.is_null() {
            ffi::sqlite3_result_error_nomem(ctx);
            return;
        }
        let len = usize::try_from(ffi::sqlite3_value_bytes(value)).unwrap_or(0);
        let lowered = String::from_utf8_lossy(std::slice::from_raw_parts(text, len)).to_lowercase();
        ffi::sqlite3_result_text64(
            ctx,
            lowered.as_ptr().cast(),
            lowered.len() as u64,
            ffi::SQLITE_TRANSIENT(),
            ffi::SQLITE_UTF8 as u8,
        );
    }
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::SqlitePoolOptions;

    #[tokio::test]
    async fn lower_folds_unicode_and_keeps_null_and_numbers() {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .after_connect(|conn, _| Box::pin(super::register(conn)))
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let row: (String, Option<String>, String, String) = sqlx::query_as(
            "SELECT lower('MÜLLER ÆSIR İ Σ'), lower(NULL), lower(12), lower('plain')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(row.0, "MÜLLER ÆSIR İ Σ".to_lowercase());
        assert!(row.0.starts_with("müller æsir "), "{}", row.0);
        assert_eq!(row.1, None);
        assert_eq!(row.2, "12");
        assert_eq!(row.3, "plain");
    }
}
