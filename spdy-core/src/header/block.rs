//! The uncompressed SPDY/3 name/value block: a 32-bit pair count, then per
//! pair a 32-bit name length, the name, a 32-bit value length and the value.

use std::collections::HashSet;

use bytes::{BufMut, Bytes};

use super::HeaderError;

/// Up to this many pairs, duplicates are found by comparing each name with
/// the earlier ones (at most 496 short comparisons, no allocation); above
/// it, with a set.
const SCAN_WITHOUT_SET: usize = 32;

/// One name/value pair as it travels in a block. `value` may hold several
/// values separated by single NUL bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HeaderPair {
    /// Header name (lowercase in valid blocks).
    pub name: Bytes,
    /// Header value; NUL separates repeated values.
    pub value: Bytes,
}

/// An ordered SPDY/3 name/value block.
///
/// Building a block does not validate it, so test peers can send bad blocks
/// on purpose; [`HeaderBlock::validate`] checks the draft's rules, and the
/// decoder applies them to everything it receives.
#[derive(Clone, Debug, PartialEq, Eq, Default, Hash)]
pub struct HeaderBlock {
    pairs: Vec<HeaderPair>,
}

impl HeaderBlock {
    /// An empty block.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty block with room for `n` pairs.
    pub fn with_capacity(n: usize) -> Self {
        HeaderBlock {
            pairs: Vec::with_capacity(n),
        }
    }

    /// Appends a pair as given.
    pub fn push(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.pairs.push(HeaderPair {
            name: name.into(),
            value: value.into(),
        });
    }

    /// Adds `value` under `name`: a new pair, or joined with NUL onto the
    /// existing pair of that name, so names stay unique.
    pub fn append(&mut self, name: impl Into<Bytes>, value: impl AsRef<[u8]>) {
        let name = name.into();
        match self.pairs.iter_mut().find(|p| p.name == name) {
            Some(pair) => {
                let mut joined = Vec::with_capacity(pair.value.len() + 1 + value.as_ref().len());
                joined.extend_from_slice(&pair.value);
                joined.push(0);
                joined.extend_from_slice(value.as_ref());
                pair.value = joined.into();
            }
            None => self.push(name, Bytes::copy_from_slice(value.as_ref())),
        }
    }

    /// The pairs in order.
    pub fn pairs(&self) -> &[HeaderPair] {
        &self.pairs
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when the block holds no pair.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The raw value stored under `name` (NUL-joined when repeated).
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.pairs
            .iter()
            .find(|p| p.name == name.as_bytes())
            .map(|p| &p.value)
    }

    /// The value under `name` as UTF-8 text, if present and valid.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The separate values under `name` (split at NUL).
    pub fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.get(name)
            .into_iter()
            .flat_map(|v| v.split(|b| *b == 0))
    }

    /// Removes the pair named `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Bytes> {
        let index = self.pairs.iter().position(|p| p.name == name.as_bytes())?;
        Some(self.pairs.remove(index).value)
    }

    /// Checks the draft's rules: names non-empty, lowercase and unique;
    /// values either empty or made of non-empty NUL-separated parts. The
    /// first pair breaking a rule is reported. Linear in the pair count.
    pub fn validate(&self) -> Result<(), HeaderError> {
        // The names of the pairs before the current one, in a set once
        // there are enough of them that comparing each with every earlier
        // one would cost more than the set (a typical request has about
        // ten). SipHash with a random key, so a peer cannot pick
        // colliding names.
        let mut earlier: Option<HashSet<&[u8]>> =
            (self.pairs.len() > SCAN_WITHOUT_SET).then(|| HashSet::with_capacity(self.pairs.len()));
        for (i, pair) in self.pairs.iter().enumerate() {
            // Only built for the error message.
            let shown = || String::from_utf8_lossy(&pair.name);
            if pair.name.is_empty() {
                return Err(HeaderError::Malformed("empty header name".into()));
            }
            if pair.name.iter().any(u8::is_ascii_uppercase) {
                return Err(HeaderError::Malformed(format!(
                    "header name {:?} is not lowercase",
                    shown()
                )));
            }
            if pair.name.contains(&0) {
                return Err(HeaderError::Malformed(format!(
                    "header name {:?} contains NUL",
                    shown()
                )));
            }
            let seen = match &mut earlier {
                Some(earlier) => !earlier.insert(&pair.name[..]),
                None => self.pairs[..i].iter().any(|p| p.name == pair.name),
            };
            if seen {
                return Err(HeaderError::Malformed(format!(
                    "header name {:?} appears twice",
                    shown()
                )));
            }
            if !pair.value.is_empty() && pair.value.split(|b| *b == 0).any(<[u8]>::is_empty) {
                return Err(HeaderError::Malformed(format!(
                    "header {:?} has an empty value between NUL separators",
                    shown()
                )));
            }
        }
        Ok(())
    }

    /// The size of the uncompressed block in bytes.
    pub fn encoded_len(&self) -> usize {
        4 + self
            .pairs
            .iter()
            .map(|p| 8 + p.name.len() + p.value.len())
            .sum::<usize>()
    }

    /// Serialises the uncompressed block onto `dst`.
    pub(crate) fn write_uncompressed(&self, dst: &mut Vec<u8>) {
        dst.reserve(self.encoded_len());
        dst.put_u32(self.pairs.len() as u32);
        for pair in &self.pairs {
            dst.put_u32(pair.name.len() as u32);
            dst.put_slice(&pair.name);
            dst.put_u32(pair.value.len() as u32);
            dst.put_slice(&pair.value);
        }
    }

    /// Parses an uncompressed block, checking only its structure.
    pub(crate) fn parse_uncompressed(raw: Bytes) -> Result<HeaderBlock, HeaderError> {
        let mut reader = Reader { raw, pos: 0 };
        let count = reader.u32("pair count")?;
        // Each pair takes at least 8 bytes: a count beyond that is a lie.
        if u64::from(count) * 8 > (reader.raw.len() - reader.pos) as u64 {
            return Err(HeaderError::Malformed(format!(
                "block declares {count} pairs but holds only {} bytes",
                reader.raw.len()
            )));
        }
        let mut block = HeaderBlock::with_capacity(count as usize);
        for _ in 0..count {
            let name = reader.chunk("name")?;
            let value = reader.chunk("value")?;
            block.pairs.push(HeaderPair { name, value });
        }
        if reader.pos != reader.raw.len() {
            return Err(HeaderError::Malformed(format!(
                "{} bytes follow the last header pair",
                reader.raw.len() - reader.pos
            )));
        }
        Ok(block)
    }
}

struct Reader {
    raw: Bytes,
    pos: usize,
}

impl Reader {
    fn u32(&mut self, what: &str) -> Result<u32, HeaderError> {
        let bytes = self
            .raw
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| HeaderError::Malformed(format!("block ends inside a {what}")))?;
        self.pos += 4;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn chunk(&mut self, what: &str) -> Result<Bytes, HeaderError> {
        let len = self.u32(what)? as usize;
        if len > self.raw.len() - self.pos {
            return Err(HeaderError::Malformed(format!(
                "{what} of {len} bytes runs past the end of the block"
            )));
        }
        let chunk = self.raw.slice(self.pos..self.pos + len);
        self.pos += len;
        Ok(chunk)
    }
}

impl<N: Into<Bytes>, V: Into<Bytes>> FromIterator<(N, V)> for HeaderBlock {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut block = HeaderBlock::new();
        for (name, value) in iter {
            block.push(name, value);
        }
        block
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(block: &HeaderBlock) -> Bytes {
        let mut out = Vec::new();
        block.write_uncompressed(&mut out);
        out.into()
    }

    #[test]
    fn uncompressed_round_trip_and_layout() {
        let block: HeaderBlock = [(":method", "GET"), ("x", "")].into_iter().collect();
        let bytes = raw(&block);
        assert_eq!(
            &bytes[..],
            b"\0\0\0\x02\0\0\0\x07:method\0\0\0\x03GET\0\0\0\x01x\0\0\0\0"
        );
        assert_eq!(bytes.len(), block.encoded_len());
        assert_eq!(HeaderBlock::parse_uncompressed(bytes).unwrap(), block);
    }

    #[test]
    fn structural_errors() {
        for bad in [
            &b"\0\0"[..],
            b"\0\0\0\x05\0\0\0\x01a",
            b"\0\0\0\x01\0\0\0\x01a\0\0\0\x09abc",
            b"\0\0\0\x01\0\0\0\x01a\0\0\0\x01b\xff",
            b"\xff\xff\xff\xff",
        ] {
            assert!(
                matches!(
                    HeaderBlock::parse_uncompressed(Bytes::from_static(bad)),
                    Err(HeaderError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn validation_rules() {
        let ok = |pairs: &[(&'static str, &'static str)]| {
            pairs.iter().copied().collect::<HeaderBlock>().validate()
        };
        assert!(ok(&[("a", "x\0y"), ("b", "")]).is_ok());
        for bad in [
            &[("", "x")][..],
            &[("Upper", "x")],
            &[("a", "1"), ("a", "2")],
            &[("a", "\0x")],
            &[("a", "x\0")],
            &[("a", "x\0\0y")],
            &[("a\0b", "x")],
        ] {
            assert!(ok(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn validation_reports_the_first_bad_pair_in_order() {
        let first_error = |pairs: &[(&'static str, &'static str)]| match pairs
            .iter()
            .copied()
            .collect::<HeaderBlock>()
            .validate()
        {
            Err(HeaderError::Malformed(message)) => message,
            other => panic!("{pairs:?}: {other:?}"),
        };
        // The second "a" comes before the uppercase name: the duplicate is
        // reported, and the other way round the uppercase name.
        assert_eq!(
            first_error(&[("a", "1"), ("b", ""), ("a", "2"), ("C", "x")]),
            "header name \"a\" appears twice"
        );
        assert_eq!(
            first_error(&[("a", "1"), ("C", "x"), ("a", "2")]),
            "header name \"C\" is not lowercase"
        );
        // Of two repeated names, the one repeated first is reported.
        assert_eq!(
            first_error(&[("a", ""), ("b", ""), ("b", ""), ("a", "")]),
            "header name \"b\" appears twice"
        );
        // A bad value on the first occurrence comes before the repeat.
        assert_eq!(
            first_error(&[("a", "x\0"), ("a", "y")]),
            "header \"a\" has an empty value between NUL separators"
        );
        assert_eq!(
            first_error(&[("a", ""), ("\u{e9}", ""), ("\u{e9}", "")]),
            "header name \"\u{e9}\" appears twice"
        );
    }

    #[test]
    fn append_joins_with_nul_and_values_split() {
        let mut block = HeaderBlock::new();
        block.append("cookie", "a=1");
        block.append("cookie", "b=2");
        assert_eq!(block.len(), 1);
        assert_eq!(
            block.get("cookie").unwrap(),
            &Bytes::from_static(b"a=1\0b=2")
        );
        let values: Vec<&[u8]> = block.values("cookie").collect();
        assert_eq!(values, vec![&b"a=1"[..], b"b=2"]);
        assert_eq!(
            block.remove("cookie").unwrap(),
            Bytes::from_static(b"a=1\0b=2")
        );
        assert!(block.is_empty());
    }
}
