//! Key pairs, public keys, signatures and fingerprints.

use core::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use thiserror::Error;

/// An Ed25519 public key: who signed.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PublicKey(pub [u8; 32]);

/// An Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signature(pub [u8; 64]);

/// The first 8 bytes of BLAKE3 over a public key, shown to people as four
/// groups of four hex digits (`3f2a-91c0-5d7e-0b44`): short enough to read
/// out over a radio, long enough that no one finds a second key with the
/// same fingerprint by trying (2^64 work).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub [u8; 8]);

/// A signing key pair. The secret half never leaves this type except
/// through [`Keypair::secret_bytes`], for the driver to store.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
    public: PublicKey,
}

/// Why a key, signature or key text was refused.
#[derive(Clone, PartialEq, Eq, Debug, Error)]
pub enum KeyError {
    /// The bytes are not a valid Ed25519 public key (not a curve point, or a
    /// weak key of small order).
    #[error("not a valid Ed25519 public key")]
    BadPublicKey,
    /// The signature does not verify for this key and message.
    #[error("the signature does not verify")]
    BadSignature,
    /// Key text is not 64 hex digits.
    #[error("expected 64 hex digits, found `{0}`")]
    BadHex(String),
}

impl Keypair {
    /// The key pair whose secret key is `secret` (32 bytes the driver drew
    /// from the operating system, or stored earlier).
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(secret);
        let public = PublicKey(signing.verifying_key().to_bytes());
        Keypair { signing, public }
    }

    /// A key pair derived from a seed and a stable label, for simulations:
    /// `blake3(seed, label, n)` as the secret key. Never use it for a real
    /// node: anyone who knows the seed knows the key.
    pub fn derive(seed: u64, label: &str, n: u64) -> Self {
        let mut h = blake3::Hasher::new_derive_key("okmesh simulated key v1");
        h.update(&seed.to_le_bytes());
        h.update(&(label.len() as u64).to_le_bytes());
        h.update(label.as_bytes());
        h.update(&n.to_le_bytes());
        Keypair::from_secret_bytes(h.finalize().as_bytes())
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        self.public
    }

    /// The secret key's 32 bytes, for the driver to keep (with care).
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }
}

/// A key pair given outright, or derived from a seed ([`Keypair::derive`])
/// the first time it is used: a derivation is an Ed25519 base-point
/// multiplication, which a simulated node that never signs or checks its
/// own signals need not pay (a 100-node run spent 22 M instructions on
/// them at setup).
#[derive(Clone, Debug)]
pub struct LazyKeypair {
    /// The seed, label and number it is derived from, if not given.
    derive_from: Option<(u64, &'static str, u64)>,
    key: std::cell::OnceCell<Keypair>,
}

impl LazyKeypair {
    /// `key` itself.
    pub fn given(key: Keypair) -> Self {
        LazyKeypair {
            derive_from: None,
            key: key.into(),
        }
    }

    /// [`Keypair::derive`]`(seed, label, n)`, when first asked for.
    pub fn derived(seed: u64, label: &'static str, n: u64) -> Self {
        LazyKeypair {
            derive_from: Some((seed, label, n)),
            key: std::cell::OnceCell::new(),
        }
    }

    /// The key pair.
    pub fn get(&self) -> &Keypair {
        self.key.get_or_init(|| {
            let (seed, label, n) = self.derive_from.expect("a key is given or derivable");
            Keypair::derive(seed, label, n)
        })
    }
}

impl fmt::Debug for Keypair {
    /// Shows the public key only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.public.fingerprint())
    }
}

impl PartialEq for Keypair {
    fn eq(&self, other: &Self) -> bool {
        self.public == other.public
    }
}

impl Eq for Keypair {}

impl PublicKey {
    /// Checks that `signature` is this key's over `message` (strict: weak
    /// keys and non-canonical encodings are refused).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), KeyError> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| KeyError::BadPublicKey)?;
        if key.is_weak() {
            return Err(KeyError::BadPublicKey);
        }
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify_strict(message, &sig)
            .map_err(|_| KeyError::BadSignature)
    }

    /// The key's short fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        let h = blake3::hash(&self.0);
        let mut f = [0u8; 8];
        f.copy_from_slice(&h.as_bytes()[..8]);
        Fingerprint(f)
    }

    /// Reads 64 hex digits (either case; surrounding spaces ignored).
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let t = text.trim();
        let bad = || KeyError::BadHex(t.chars().take(80).collect());
        if t.len() != 64 || !t.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(PublicKey(out))
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

impl fmt::Display for PublicKey {
    /// 64 lower-case hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

impl serde::Serialize for PublicKey {
    /// As 64 hex digits.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pair) in self.0.chunks(2).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            write_hex(f, pair)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl serde::Serialize for Fingerprint {
    /// As `xxxx-xxxx-xxxx-xxxx`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(")?;
        write_hex(f, &self.0[..8])?;
        f.write_str("…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lazy_key_pair_is_the_derived_or_given_one() {
        let lazy = LazyKeypair::derived(1, "signals", 4);
        assert_eq!(lazy.get(), &Keypair::derive(1, "signals", 4));
        assert_eq!(
            lazy.get().public(),
            Keypair::derive(1, "signals", 4).public()
        );
        let given = Keypair::derive(2, "publisher", 0);
        assert_eq!(LazyKeypair::given(given.clone()).get(), &given);
    }

    #[test]
    fn a_signature_verifies_only_for_its_key_and_message() {
        let a = Keypair::derive(1, "publisher", 0);
        let b = Keypair::derive(1, "publisher", 1);
        let sig = a.sign(b"item v1");
        assert_eq!(a.public().verify(b"item v1", &sig), Ok(()));
        assert_eq!(
            a.public().verify(b"item v2", &sig),
            Err(KeyError::BadSignature)
        );
        assert_eq!(
            b.public().verify(b"item v1", &sig),
            Err(KeyError::BadSignature)
        );
        let mut flipped = sig;
        flipped.0[10] ^= 1;
        assert!(a.public().verify(b"item v1", &flipped).is_err());
    }

    #[test]
    fn derivation_is_stable_and_separates_labels() {
        assert_eq!(
            Keypair::derive(7, "node", 3).public(),
            Keypair::derive(7, "node", 3).public()
        );
        assert_ne!(
            Keypair::derive(7, "node", 3).public(),
            Keypair::derive(7, "publisher", 3).public()
        );
        let k = Keypair::derive(7, "node", 3);
        assert_eq!(
            Keypair::from_secret_bytes(&k.secret_bytes()).public(),
            k.public()
        );
    }

    #[test]
    fn weak_and_invalid_keys_are_refused() {
        // The identity point (a weak, small-order key) and bytes that are
        // not a point.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let sig = Signature([0; 64]);
        assert_eq!(
            PublicKey(identity).verify(b"x", &sig),
            Err(KeyError::BadPublicKey)
        );
        assert!(PublicKey([0xff; 32]).verify(b"x", &sig).is_err());
    }

    #[test]
    fn keys_print_and_parse_as_hex_and_fingerprints_in_groups() {
        let k = Keypair::derive(2, "node", 0).public();
        let hex = k.to_string();
        assert_eq!(hex.len(), 64);
        assert_eq!(
            PublicKey::from_hex(&format!("  {}\n", hex.to_uppercase())),
            Ok(k)
        );
        assert!(matches!(
            PublicKey::from_hex("abc"),
            Err(KeyError::BadHex(_))
        ));
        assert!(PublicKey::from_hex(&"é".repeat(32)).is_err());
        let f = k.fingerprint().to_string();
        assert_eq!(f.len(), 19);
        assert_eq!(f.matches('-').count(), 3);
        assert!(!format!("{:?}", Keypair::derive(2, "node", 0)).contains(&hex));
    }
}
