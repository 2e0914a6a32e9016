//! Mapping a request path to a file under the root, with no way out of it.

use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;

/// Why a path was not mapped to a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The path is malformed or tries to leave the root: `..`, an encoded
    /// `/` or `\`, a NUL byte, not UTF-8. Answered 400.
    BadPath,
    /// Nothing there, or it lies outside the root once symlinks are
    /// followed. Answered 404.
    NotFound,
}

/// The relative path a request path names: percent-decoded segment by
/// segment, so `%2F` can never make a separator; `.` and empty segments
/// dropped; `..` refused.
///
/// ```
/// use spdy_server::static_files::{relative_path, Refusal};
/// assert_eq!(relative_path("/a/b%20c.txt").unwrap(), std::path::PathBuf::from("a/b c.txt"));
/// assert_eq!(relative_path("/a/../b"), Err(Refusal::BadPath));
/// assert_eq!(relative_path("/a%2F..%2Fb"), Err(Refusal::BadPath));
/// ```
pub fn relative_path(request_path: &str) -> Result<PathBuf, Refusal> {
    if !request_path.starts_with('/') {
        return Err(Refusal::BadPath);
    }
    let mut out = PathBuf::new();
    for raw in request_path.split('/') {
        let decoded = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| Refusal::BadPath)?;
        if decoded.contains(['/', '\\', '\0']) {
            return Err(Refusal::BadPath);
        }
        match decoded.as_ref() {
            "" | "." => continue,
            ".." => return Err(Refusal::BadPath),
            segment => {
                // Belt and braces: the segment must be one normal component
                // (no drive prefix, no root).
                let mut components = Path::new(segment).components();
                match (components.next(), components.next()) {
                    (Some(Component::Normal(_)), None) => out.push(segment),
                    _ => return Err(Refusal::BadPath),
                }
            }
        }
    }
    Ok(out)
}

/// The file or directory `request_path` names under `root` (which must be
/// canonical), following symlinks only while they stay inside the root.
pub async fn resolve(root: &Path, request_path: &str) -> Result<PathBuf, Refusal> {
    let relative = relative_path(request_path)?;
    let joined = root.join(relative);
    let canonical = tokio::fs::canonicalize(&joined)
        .await
        .map_err(|_| Refusal::NotFound)?;
    if !canonical.starts_with(root) {
        tracing::debug!(path = %joined.display(), "refused: resolves outside the root");
        return Err(Refusal::NotFound);
    }
    Ok(canonical)
}
