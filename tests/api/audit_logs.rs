//! Admin actions in the log: each line names its actor and its request id, and a client's
//! request id cannot forge an audit line's fields.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::logs::log_buffer;

/// Every admin action's log line names its actor and the request it came in (before, the
/// audit lines had the actor only, so a line could not be matched to a response).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_actions_are_logged_with_their_request_id() {
    let logs = log_buffer();
    let app = spawn_app(Backend::Sqlite).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let new_id = || format!("req-{}", uuid::Uuid::new_v4().simple());
    let post = |path: &str, id: &str| {
        client
            .post(format!("{}{path}", app.base))
            .header("x-request-id", id)
    };
    let post_form = |path: &str, id: &str, pairs: &[(&str, &str)]| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        post(path, id)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    // The event's own fields (the capture prints the debug-level span, with its own
    // request_id, in front of the message).
    let fields_of = |message: &str, id: &str| -> Vec<String> {
        let text = String::from_utf8_lossy(&logs.lock().expect("logs")).into_owned();
        text.lines()
            .filter_map(|l| l.split_once(&format!(" {message} ")).map(|(_, f)| f))
            .filter(|f| f.contains(&format!("request_id={id}")))
            .map(str::to_owned)
            .collect()
    };

    let api_retry = new_id();
    let r = post("/admin/v1/retry", &api_retry)
        .bearer_auth(&app.admin_token)
        .json(&serde_json::json!({"target": "t1"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let reconcile = new_id();
    let r = post("/admin/v1/reconcile", &reconcile)
        .bearer_auth(&app.admin_token)
        .json(&serde_json::json!({"target": "t1", "dry_run": false}))
        .send()
        .await
        .expect("send");
    assert_eq!(
        r.status(),
        StatusCode::BAD_GATEWAY,
        "t1's vendor is unreachable"
    );

    let wrong_login = new_id();
    let r = post_form(
        "/admin/login",
        &wrong_login,
        &[("token", "not-the-admin-token")],
    )
    .send()
    .await
    .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let login = new_id();
    let r = post_form(
        "/admin/login",
        &login,
        &[("token", app.admin_token.as_str())],
    )
    .send()
    .await
    .expect("send");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"].to_str().expect("ascii");
    let cookie = cookie.split(';').next().expect("name=value").to_owned();
    let page = client
        .get(format!("{}/admin", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("page");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF field in:\n{page}"))
        .to_owned();
    let page_retry = new_id();
    let r = post_form(
        "/admin/retry",
        &page_retry,
        &[("csrf", csrf.as_str()), ("target", "t1")],
    )
    .header("cookie", &cookie)
    .send()
    .await
    .expect("send");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    for (message, id, actor) in [
        ("admin retry", &api_retry, Some("actor=admin-token:")),
        (
            "admin reconcile apply requested",
            &reconcile,
            Some("actor=admin-token:"),
        ),
        ("admin page: login with a wrong token", &wrong_login, None),
        ("admin page: logged in", &login, Some("actor=admin-page:")),
        ("admin retry", &page_retry, Some("actor=admin-page:")),
    ] {
        let lines = fields_of(message, id);
        assert_eq!(lines.len(), 1, "one `{message}` line with request_id={id}");
        if let Some(actor) = actor {
            assert!(lines[0].contains(actor), "{message}: {}", lines[0]);
        }
        assert!(
            !lines[0].contains(&app.admin_token),
            "no token: {}",
            lines[0]
        );
    }
}

/// A client's `x-request-id` that is not plain is replaced by a UUID before anything logs
/// it: text logs print it as sent, so spaces in it could forge an audit line's fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_that_could_forge_log_fields_is_replaced() {
    let logs = log_buffer();
    let app = spawn_app(Backend::Sqlite).await;
    let forged = "x actor=admin-page:f0f0f0f0";
    let r = app
        .client
        .post(format!("{}/admin/login", app.base))
        .header("x-request-id", forged)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=wrong")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let id = r.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "a fresh UUID, not the client's id: {id:?}"
    );
    let text = String::from_utf8_lossy(&logs.lock().expect("logs")).into_owned();
    assert!(!text.contains("f0f0f0f0"), "the forged id was logged");
    assert!(
        text.lines()
            .any(|l| l.contains("login with a wrong token") && l.contains(&id)),
        "the line carries the UUID {id}"
    );
}
