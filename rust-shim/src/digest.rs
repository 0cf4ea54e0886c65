//! SHA-256 and the lowercase hex form in which plans and transcripts carry digests.

use ring::digest::{Context, SHA256};

/// The raw SHA-256 digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&SHA256, bytes).as_ref());
    out
}

/// The lowercase hex SHA-256 digest of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&sha256(bytes))
}

/// An incremental SHA-256 (for hashing a file through its fd).
pub struct Hasher(Context);

impl Hasher {
    /// A fresh SHA-256 state.
    pub fn start() -> Hasher {
        Hasher(Context::new(&SHA256))
    }

    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The lowercase hex digest of everything added.
    pub fn finish_hex(self) -> String {
        to_hex(self.0.finish().as_ref())
    }

    /// The digest of everything added so far; more can be added afterwards.
    pub fn current_hex(&self) -> String {
        Hasher(self.0.clone()).finish_hex()
    }
}

/// Lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Whether `text` is a SHA-256 digest in lowercase hex (64 digits).
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// Decodes 64 lowercase hex digits into 32 bytes (a raw Ed25519 public key).
pub fn from_hex32(text: &str) -> Option<[u8; 32]> {
    if !is_sha256_hex(text) {
        return None;
    }
    from_hex(text)?.try_into().ok()
}

/// Decodes hex digits of either case, two per byte; `None` for an odd count or another
/// character.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc() {
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex(b"abc"), expected);
        let mut h = Hasher::start();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish_hex(), expected);
    }

    #[test]
    fn hex_round_trip_is_lowercase_only() {
        let key = [0xabu8; 32];
        assert_eq!(from_hex32(&to_hex(&key)), Some(key));
        assert_eq!(from_hex32(&"AB".repeat(32)), None);
        assert_eq!(from_hex32("ab"), None);
        assert!(!is_sha256_hex(&"g".repeat(64)));
    }
}
