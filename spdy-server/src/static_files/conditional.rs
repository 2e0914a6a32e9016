//! Validators and conditional requests (RFC 9110 §8.8, §13).

use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use http::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE};

/// The validators of a file: a strong ETag and the modification time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validators {
    /// The entity tag, quoted (`"…"`).
    pub etag: String,
    /// The modification time, to the second (HTTP dates have no finer grain).
    pub modified: Option<SystemTime>,
}

impl Validators {
    /// Validators of a file `len` bytes long modified at `modified`.
    pub fn new(len: u64, modified: Option<SystemTime>) -> Self {
        let since_epoch = modified
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .unwrap_or_default();
        Validators {
            etag: format!(
                "\"{:x}-{:x}.{:x}\"",
                len,
                since_epoch.as_secs(),
                since_epoch.subsec_nanos()
            ),
            modified: modified
                .map(|_| UNIX_EPOCH + std::time::Duration::from_secs(since_epoch.as_secs())),
        }
    }

    /// The `Last-Modified` value.
    pub fn last_modified(&self) -> Option<String> {
        self.modified.map(httpdate::fmt_http_date)
    }

    /// True when a GET or HEAD may be answered 304 Not Modified:
    /// `If-None-Match` matches (weak comparison), or, without it,
    /// `If-Modified-Since` is not older than the file.
    pub fn not_modified(&self, headers: &HeaderMap) -> bool {
        if let Some(value) = headers.get(IF_NONE_MATCH) {
            let Ok(value) = value.to_str() else {
                return false;
            };
            return value.trim() == "*"
                || value
                    .split(',')
                    .any(|tag| opaque(tag.trim()) == Some(opaque_of(&self.etag)));
        }
        let (Some(since), Some(modified)) = (
            headers
                .get(IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok()),
            self.modified,
        ) else {
            return false;
        };
        modified <= since
    }

    /// True when a `Range` may be honoured: no `If-Range`, or it names
    /// this exact representation (a strong ETag equal to ours, or our
    /// modification date exactly). A date is only a strong validator when
    /// the file last changed at least a second before now (RFC 9110
    /// §8.8.2.2): a file changed twice within one second has one date for
    /// two contents, so for a file that recent a date never matches and
    /// the whole file is sent instead of a range that could splice them.
    pub fn range_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(IF_RANGE).and_then(|v| v.to_str().ok()) else {
            return headers.get(IF_RANGE).is_none();
        };
        let value = value.trim();
        if value.starts_with('"') {
            return value == self.etag;
        }
        match (httpdate::parse_http_date(value), self.modified) {
            // `modified` is truncated to the second: the file changed
            // before modified + 1 s, so it is a second old by modified + 2 s.
            (Ok(date), Some(modified)) => {
                date == modified
                    && SystemTime::now()
                        .duration_since(modified)
                        .is_ok_and(|age| age >= std::time::Duration::from_secs(2))
            }
            _ => false,
        }
    }
}

/// The opaque part of an entity tag (`W/` dropped), for weak comparison.
fn opaque(tag: &str) -> Option<&str> {
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    (tag.len() >= 2 && tag.starts_with('"') && tag.ends_with('"')).then_some(tag)
}

fn opaque_of(tag: &str) -> &str {
    opaque(tag).unwrap_or(tag)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn a_date_names_a_file_changed_in_the_last_second_only_weakly() {
        let now = SystemTime::now();
        let fresh = Validators::new(10, Some(now));
        let date = fresh.last_modified().unwrap();
        assert!(!fresh.range_allowed(&headers(&[("if-range", &date)])));
        // The same date for a file changed long ago is a strong validator.
        let old = Validators::new(10, Some(now - std::time::Duration::from_secs(3600)));
        let date = old.last_modified().unwrap();
        assert!(old.range_allowed(&headers(&[("if-range", &date)])));
    }

    #[test]
    fn conditionals() {
        let modified = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_500);
        let v = Validators::new(10, Some(modified));
        let date = v.last_modified().unwrap();
        assert!(v.not_modified(&headers(&[("if-none-match", &v.etag)])));
        let weak = format!("W/{}", v.etag);
        assert!(v.not_modified(&headers(&[("if-none-match", &format!("\"x\", {weak}"))])));
        assert!(v.not_modified(&headers(&[("if-none-match", "*")])));
        assert!(!v.not_modified(&headers(&[("if-none-match", "\"other\"")])));
        // If-None-Match wins over If-Modified-Since.
        assert!(!v.not_modified(&headers(&[
            ("if-none-match", "\"other\""),
            ("if-modified-since", &date)
        ])));
        assert!(v.not_modified(&headers(&[("if-modified-since", &date)])));
        let earlier = httpdate::fmt_http_date(modified - std::time::Duration::from_secs(5));
        assert!(!v.not_modified(&headers(&[("if-modified-since", &earlier)])));
        assert!(!v.not_modified(&headers(&[("if-modified-since", "garbage")])));

        assert!(v.range_allowed(&headers(&[])));
        assert!(v.range_allowed(&headers(&[("if-range", &v.etag)])));
        assert!(!v.range_allowed(&headers(&[("if-range", &weak)])));
        assert!(v.range_allowed(&headers(&[("if-range", &date)])));
        assert!(!v.range_allowed(&headers(&[("if-range", &earlier)])));
    }
}
