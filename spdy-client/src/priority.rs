//! A default SPDY priority for a URL, the way browsers chose one: what
//! blocks rendering first, bulk media last.

use http::Uri;
use spdy_core::frame::Priority;

/// A priority for fetching `uri`, from the extension of its path:
///
/// | priority | what |
/// | --- | --- |
/// | 0 | documents: no extension, `.html`, `.htm`, `.xhtml` |
/// | 1 | what a document waits for: `.css`, `.js`, `.mjs`, `.json`, and media playlists (`.m3u8`, `.mpd`) |
/// | 2 | fonts and subtitles (`.woff`, `.woff2`, `.ttf`, `.otf`, `.vtt`, `.srt`) |
/// | 4 | images (`.png`, `.jpg`, `.jpeg`, `.gif`, `.webp`, `.svg`, `.ico`, `.avif`) |
/// | 5 | audio and video (`.mp4`, `.m4v`, `.m4s`, `.mkv`, `.webm`, `.ts`, `.mov`, `.avi`, `.mp3`, `.m4a`, `.aac`, `.flac`, `.ogg`, `.opus`, `.wav`) |
/// | 6 | archives and disk images (`.zip`, `.gz`, `.tgz`, `.bz2`, `.xz`, `.zst`, `.7z`, `.tar`, `.iso`, `.img`) |
/// | 3 | anything else (the default) |
///
/// Put the result in a request's extensions as
/// [`RequestPriority`](crate::RequestPriority); the scheduler on both ends
/// sends higher-priority data first, so a page and its playlist are not
/// held behind a long video stream on the same session.
///
/// ```
/// use spdy_client::priority_for;
///
/// let page: http::Uri = "http://media.local/".parse().unwrap();
/// let video: http::Uri = "http://media.local/films/a.MKV?t=30".parse().unwrap();
/// assert_eq!(priority_for(&page).get(), 0);
/// assert_eq!(priority_for(&video).get(), 5);
/// ```
pub fn priority_for(uri: &Uri) -> Priority {
    let path = uri.path();
    let file = path.rsplit('/').next().unwrap_or("");
    let Some((_, extension)) = file.rsplit_once('.') else {
        return Priority::new(0);
    };
    let level = match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" | "xhtml" => 0,
        "css" | "js" | "mjs" | "json" | "m3u8" | "mpd" => 1,
        "woff" | "woff2" | "ttf" | "otf" | "vtt" | "srt" => 2,
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "svg" | "ico" | "avif" => 4,
        "mp4" | "m4v" | "m4s" | "mkv" | "webm" | "ts" | "mov" | "avi" | "mp3" | "m4a" | "aac"
        | "flac" | "ogg" | "opus" | "wav" => 5,
        "zip" | "gz" | "tgz" | "bz2" | "xz" | "zst" | "7z" | "tar" | "iso" | "img" => 6,
        _ => 3,
    };
    Priority::new(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(uri: &str) -> u8 {
        priority_for(&uri.parse().expect("a valid URI")).get()
    }

    #[test]
    fn by_extension_case_blind_ignoring_the_query() {
        assert_eq!(of("/"), 0);
        assert_eq!(of("/films/"), 0);
        assert_eq!(of("/index.HTML"), 0);
        assert_eq!(of("/live/stream.m3u8?token=1"), 1);
        assert_eq!(of("/subs/a.vtt"), 2);
        assert_eq!(of("/poster.JPG"), 4);
        assert_eq!(of("/films/a.mkv"), 5);
        assert_eq!(of("/backup.tar.gz"), 6);
        assert_eq!(of("/notes.txt"), 3);
        assert_eq!(of("/.hidden"), 3);
    }
}
