//! An HTML listing of a directory (only when enabled).

use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::ResponseWriter;

/// Characters escaped in links.
const LINK: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes a listing of `dir` (shown as `shown_path`), entries sorted by
/// name; names starting with a dot only with `hidden`.
pub(super) async fn serve(
    dir: &std::path::Path,
    shown_path: &str,
    hidden: bool,
    response: &mut ResponseWriter,
) {
    let mut names = Vec::new();
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        response.set_status(StatusCode::INTERNAL_SERVER_ERROR);
        let _ = response.finish().await;
        return;
    };
    // Bounded: a listing never holds more than this many names.
    while names.len() < 10_000
        && let Ok(Some(entry)) = entries.next_entry().await
    {
        let mut name = entry.file_name().to_string_lossy().into_owned();
        if !hidden && super::is_hidden_name(&name) {
            continue;
        }
        if entry.file_type().await.is_ok_and(|t| t.is_dir()) {
            name.push('/');
        }
        names.push(name);
    }
    names.sort();
    let title = escape_html(shown_path);
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n<h1>{title}</h1>\n<ul>\n"
    );
    for name in names {
        // "./" first: a name like "javascript:alert(1)" must stay a
        // relative path, not become a URL with a scheme.
        let href = format!("./{}", utf8_percent_encode(&name, LINK));
        html.push_str(&format!(
            "<li><a href=\"{}\">{}</a></li>\n",
            escape_html(&href),
            escape_html(&name)
        ));
    }
    html.push_str("</ul>\n</body></html>\n");
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, HeaderValue::from(html.len()));
    let _ = response.write(html).await;
}
