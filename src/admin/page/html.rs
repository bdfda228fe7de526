//! HTML helpers: escaping, the page frame, the stylesheet.

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes one URL path segment or query value.
pub fn url(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A whole page.
pub fn frame(title: &str, nav: bool, body: &str) -> String {
    let nav = if nav {
        "<nav><a href=\"/admin\">Mappings</a></nav>"
    } else {
        ""
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · scim-bridge</title><link rel=\"stylesheet\" href=\"/admin/static/admin.css\"></head>\
         <body><header><h1>scim-bridge admin</h1>{nav}</header><main>{body}</main></body></html>",
        t = esc(title)
    )
}

pub const CSS: &str = "
body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{display:flex;align-items:center;gap:2rem;padding:.6rem 1.5rem;background:#1d2330;color:#fff}
header h1{font-size:1.1rem;margin:0}header a{color:#cfe0ff}
main{padding:1rem 1.5rem}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0 1.5rem}
th,td{border:1px solid #dde1e7;padding:.3rem .5rem;text-align:left;font-size:.9rem;vertical-align:top}
th{background:#eef1f5}
.state{font-weight:600}.failed,.drift{color:#b3261e}.retrying,.pending{color:#8a5a00}
.synced,.deprovisioned,.enrichment{color:#1b6e2f}.unmapped{color:#555}
form.inline{display:inline}
input,select,button{font:inherit;padding:.25rem .5rem}
button{cursor:pointer}
.error{background:#fde8e7;border:1px solid #f3b4b0;padding:.5rem;margin:.5rem 0}
pre{background:#fff;border:1px solid #dde1e7;padding:.5rem;overflow:auto}
";
