//! The pinned-keys file: publisher keys an operator trusts outright.
//!
//! ```text
//! # okmesh trusted publishers — one key per line
//! 3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29  Valley makerspace
//! 9c3f…(64 hex digits)                                              # a comment
//! ```
//!
//! Each line is empty, a `#` comment, or 64 hex digits of an Ed25519
//! public key followed by an optional label (the rest of the line, up to a
//! `#`). A key listed twice is an error, as is a line that is neither: the
//! error names the line, so an operator can fix the file.

use std::collections::BTreeMap;

use thiserror::Error;

use super::keys::{KeyError, PublicKey};

/// Most keys a pinned-keys file may hold.
pub const MAX_PINNED_KEYS: usize = 10_000;

/// Longest label kept for a key, in bytes.
pub const MAX_LABEL_BYTES: usize = 80;

/// Keys an operator trusts, each with an optional label.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct PinnedKeys {
    keys: BTreeMap<PublicKey, String>,
}

/// Why a pinned-keys file was refused.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum PinnedKeysError {
    /// A line is not a key.
    #[error("{source_name}:{line}: {error}")]
    BadKey {
        /// The file.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the key.
        error: KeyError,
    },
    /// A key is listed twice.
    #[error("{source_name}:{line}: key already listed on line {first}")]
    Duplicate {
        /// The file.
        source_name: String,
        /// 1-based line number of the repeat.
        line: usize,
        /// 1-based line number of the first listing.
        first: usize,
    },
    /// More than [`MAX_PINNED_KEYS`] keys.
    #[error("{source_name}: more than {MAX_PINNED_KEYS} keys")]
    TooMany {
        /// The file.
        source_name: String,
    },
}

impl PinnedKeys {
    /// No keys.
    pub fn new() -> Self {
        PinnedKeys::default()
    }

    /// Reads a pinned-keys file's text; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, PinnedKeysError> {
        let mut keys = BTreeMap::new();
        let mut lines_of: BTreeMap<PublicKey, usize> = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let (hex, label) = content
                .split_once(char::is_whitespace)
                .map_or((content, ""), |(h, l)| (h, l.trim()));
            let key = PublicKey::from_hex(hex).map_err(|error| PinnedKeysError::BadKey {
                source_name: source_name.to_owned(),
                line,
                error,
            })?;
            if let Some(&first) = lines_of.get(&key) {
                return Err(PinnedKeysError::Duplicate {
                    source_name: source_name.to_owned(),
                    line,
                    first,
                });
            }
            if keys.len() == MAX_PINNED_KEYS {
                return Err(PinnedKeysError::TooMany {
                    source_name: source_name.to_owned(),
                });
            }
            lines_of.insert(key, line);
            keys.insert(key, cut(label));
        }
        Ok(PinnedKeys { keys })
    }

    /// Adds a key (replacing its label if it is already pinned).
    pub fn insert(&mut self, key: PublicKey, label: &str) {
        self.keys.insert(key, cut(label));
    }

    /// Whether `key` is pinned.
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.keys.contains_key(key)
    }

    /// The label given to `key`, if it is pinned.
    pub fn label(&self, key: &PublicKey) -> Option<&str> {
        self.keys.get(key).map(String::as_str)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is pinned.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys and labels, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&PublicKey, &str)> {
        self.keys.iter().map(|(k, l)| (k, l.as_str()))
    }

    /// The file text for these keys (what [`PinnedKeys::parse`] reads).
    pub fn to_text(&self) -> String {
        let mut out = String::from("# okmesh trusted publishers: one key per line, then a label\n");
        for (k, label) in &self.keys {
            out.push_str(&k.to_string());
            if !label.is_empty() {
                out.push_str("  ");
                out.push_str(label);
            }
            out.push('\n');
        }
        out
    }
}

/// A label cut to [`MAX_LABEL_BYTES`] on a character boundary, with control
/// characters removed (labels reach logs and terminals).
fn cut(label: &str) -> String {
    let clean: String = label.chars().filter(|c| !c.is_control()).collect();
    catalogue::entry::cut_to(&clean, MAX_LABEL_BYTES).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Keypair;

    fn key(n: u64) -> PublicKey {
        Keypair::derive(9, "pinned", n).public()
    }

    #[test]
    fn reads_keys_labels_and_comments_and_writes_them_back() {
        let text = format!(
            "# trusted\n\n{}  Valley makerspace # ours\n{}\n",
            key(1),
            key(2)
        );
        let p = PinnedKeys::parse(&text, "trust.txt").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p.label(&key(1)), Some("Valley makerspace"));
        assert_eq!(p.label(&key(2)), Some(""));
        assert!(!p.contains(&key(3)));
        assert_eq!(PinnedKeys::parse(&p.to_text(), "again").unwrap(), p);
    }

    #[test]
    fn bad_lines_and_repeats_name_the_line() {
        let e = PinnedKeys::parse("# ok\nnot-a-key label\n", "t.txt").unwrap_err();
        assert!(
            e.to_string().starts_with("t.txt:2: expected 64 hex digits"),
            "{e}"
        );
        let text = format!("{}\n\n{}\n", key(1), key(1));
        assert_eq!(
            PinnedKeys::parse(&text, "t.txt"),
            Err(PinnedKeysError::Duplicate {
                source_name: "t.txt".into(),
                line: 3,
                first: 1
            })
        );
    }

    #[test]
    fn labels_lose_control_characters_and_are_bounded() {
        let mut p = PinnedKeys::new();
        p.insert(key(1), &format!("a\u{1b}[31mred\n{}", "x".repeat(200)));
        let l = p.label(&key(1)).unwrap();
        assert!(!l.contains('\u{1b}') && !l.contains('\n'));
        assert!(l.len() <= MAX_LABEL_BYTES);
    }
}
