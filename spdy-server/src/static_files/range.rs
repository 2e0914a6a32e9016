//! The `Range` header, single ranges only (RFC 9110 §14).

/// What a `Range` header asks of a representation `len` bytes long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: serve the whole representation (no header, an
    /// unknown unit, bad syntax, or several ranges, which we do not
    /// combine into multipart responses).
    Full,
    /// Bytes `start..=end`, both within the representation.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte (inclusive).
        end: u64,
    },
    /// A valid range that no byte satisfies: 416.
    Unsatisfiable,
}

/// Interprets `header` for a representation of `len` bytes.
///
/// ```
/// use spdy_server::static_files::{parse_range, RangeRequest};
/// assert_eq!(parse_range("bytes=0-99", 1000), RangeRequest::Partial { start: 0, end: 99 });
/// assert_eq!(parse_range("bytes=-100", 1000), RangeRequest::Partial { start: 900, end: 999 });
/// assert_eq!(parse_range("bytes=900-", 1000), RangeRequest::Partial { start: 900, end: 999 });
/// assert_eq!(parse_range("bytes=1000-", 1000), RangeRequest::Unsatisfiable);
/// assert_eq!(parse_range("bytes=0-1,5-6", 1000), RangeRequest::Full);
/// assert_eq!(parse_range("Bytes=0-99", 1000), RangeRequest::Partial { start: 0, end: 99 });
/// ```
pub fn parse_range(header: &str, len: u64) -> RangeRequest {
    // Range units are case-insensitive (RFC 9110 §14.1).
    let header = header.trim();
    let Some(spec) = header
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
        .and_then(|_| header.get(6..))
    else {
        return RangeRequest::Full;
    };
    let spec = spec.trim();
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if first.is_empty() {
        // A suffix: the last N bytes.
        if !digits(last) {
            return RangeRequest::Full;
        }
        let Ok(n) = last.parse::<u64>() else {
            // More digits than u64 holds: the whole representation.
            return whole(len);
        };
        if n == 0 || len == 0 {
            return RangeRequest::Unsatisfiable;
        }
        let n = n.min(len);
        return RangeRequest::Partial {
            start: len - n,
            end: len - 1,
        };
    }
    if !digits(first) || !(last.is_empty() || digits(last)) {
        return RangeRequest::Full;
    }
    let Ok(start) = first.parse::<u64>() else {
        return RangeRequest::Unsatisfiable;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        last.parse::<u64>().unwrap_or(u64::MAX)
    };
    if end < start {
        // Invalid syntax: ignore the header.
        return RangeRequest::Full;
    }
    if start >= len {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Partial {
        start,
        end: end.min(len - 1),
    }
}

fn whole(len: u64) -> RangeRequest {
    if len == 0 {
        RangeRequest::Unsatisfiable
    } else {
        RangeRequest::Partial {
            start: 0,
            end: len - 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{RangeRequest::*, parse_range};

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-0", 10), Partial { start: 0, end: 0 });
        assert_eq!(parse_range("bytes=5-100", 10), Partial { start: 5, end: 9 });
        assert_eq!(parse_range("bytes=-3", 10), Partial { start: 7, end: 9 });
        assert_eq!(parse_range("bytes=-30", 10), Partial { start: 0, end: 9 });
        assert_eq!(parse_range("bytes=-0", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=10-", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=-5", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-2", 10), Full);
        assert_eq!(parse_range("bytes=a-b", 10), Full);
        assert_eq!(parse_range("bytes=-", 10), Full);
        assert_eq!(parse_range("items=0-1", 10), Full);
        assert_eq!(parse_range("bytes=+1-2", 10), Full);
        assert_eq!(parse_range("bytes=0-1, 3-4", 10), Full);
        assert_eq!(
            parse_range("bytes=0-99999999999999999999999", 10),
            Partial { start: 0, end: 9 }
        );
        assert_eq!(
            parse_range("bytes=99999999999999999999999-", 10),
            Unsatisfiable
        );
        assert_eq!(
            parse_range("bytes=-99999999999999999999999", 10),
            Partial { start: 0, end: 9 }
        );
    }
}
