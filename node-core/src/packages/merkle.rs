//! The Merkle tree over a package's pieces.
//!
//! Our own small tree over BLAKE3 rather than `rs_merkle`: BLAKE3 is
//! already a dependency, the tree is sixty lines, and we need three things
//! `rs_merkle` leaves to its caller — domain separation, a shape fixed by
//! the piece count alone, and verification of hostile proofs that returns
//! an error instead of panicking.
//!
//! * A leaf is `BLAKE3-derive_key("okmesh package piece v1", piece)`, an
//!   inner node `BLAKE3-derive_key("okmesh package node v1", left ‖ right)`.
//!   The two contexts differ, so a pair of hashes can never pass for a
//!   piece or a piece for a pair (the second-preimage trick on naive trees).
//! * Levels pair neighbours left to right; a last node without a partner is
//!   carried up unchanged (never duplicated, so two piece lists never share
//!   a root). The shape therefore depends only on the piece count, which
//!   the signed record states, so a verifier knows exactly how many sibling
//!   hashes a proof of piece `i` must hold.
//! * A proof is the siblings from the leaf up; its length is at most
//!   ⌈log₂ count⌉ ≤ [`MAX_PROOF_HASHES`].

/// Domain of leaf hashes.
const LEAF_CONTEXT: &str = "okmesh package piece v1";
/// Domain of inner-node hashes.
const NODE_CONTEXT: &str = "okmesh package node v1";

/// Most sibling hashes in a proof: enough for 2³² pieces.
pub const MAX_PROOF_HASHES: usize = 32;

/// A 32-byte node of the tree (a piece hash, an inner node or the root).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// The leaf hash of one piece's bytes.
pub fn leaf_hash(piece: &[u8]) -> Hash {
    let mut h = blake3::Hasher::new_derive_key(LEAF_CONTEXT);
    h.update(piece);
    Hash(*h.finalize().as_bytes())
}

/// The hash of an inner node over its two children.
fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = blake3::Hasher::new_derive_key(NODE_CONTEXT);
    h.update(&left.0);
    h.update(&right.0);
    Hash(*h.finalize().as_bytes())
}

/// Why a piece does not verify against a root.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ProofError {
    /// The piece index is not below the package's piece count.
    #[error("piece {index} out of range: the package has {count} pieces")]
    Index {
        /// The claimed index.
        index: u64,
        /// Pieces in the package.
        count: u64,
    },
    /// The proof has the wrong number of sibling hashes for this index.
    #[error("proof of piece {index} has {got} hashes, the tree needs {needed}")]
    Length {
        /// The piece index.
        index: u64,
        /// Hashes present.
        got: usize,
        /// Hashes the tree shape needs.
        needed: usize,
    },
    /// The piece and proof hash to another root: the piece is corrupt or
    /// belongs to another package.
    #[error("piece {index} does not match the package root")]
    Mismatch {
        /// The piece index.
        index: u64,
    },
}

/// How many sibling hashes the proof of leaf `index` of `count` has.
/// Requires `index < count`.
fn proof_len(mut index: u64, mut count: u64) -> usize {
    let mut n = 0;
    while count > 1 {
        if index % 2 == 1 || index + 1 < count {
            n += 1;
        }
        index /= 2;
        count = count.div_ceil(2);
    }
    n
}

/// Checks that `piece` is leaf `index` of a tree of `count` leaves with
/// `root`, using the sibling hashes `proof`. Never panics, whatever the
/// input.
pub fn verify(
    root: &Hash,
    index: u64,
    count: u64,
    piece: &[u8],
    proof: &[Hash],
) -> Result<(), ProofError> {
    verify_leaf(root, index, count, &leaf_hash(piece), proof)
}

/// [`verify`] for a leaf hash already computed.
pub fn verify_leaf(
    root: &Hash,
    index: u64,
    count: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if index >= count {
        return Err(ProofError::Index { index, count });
    }
    let needed = proof_len(index, count);
    if proof.len() != needed {
        return Err(ProofError::Length {
            index,
            got: proof.len(),
            needed,
        });
    }
    let (mut i, mut len, mut acc) = (index, count, *leaf);
    let mut siblings = proof.iter();
    while len > 1 {
        if i % 2 == 1 {
            // Length was checked, so a sibling is always there.
            let Some(s) = siblings.next() else { break };
            acc = node_hash(s, &acc);
        } else if i + 1 < len {
            let Some(s) = siblings.next() else { break };
            acc = node_hash(&acc, s);
        }
        i /= 2;
        len = len.div_ceil(2);
    }
    if acc == *root {
        Ok(())
    } else {
        Err(ProofError::Mismatch { index })
    }
}

/// A whole tree, kept by whoever holds every piece (the builder, a full
/// holder) to hand out proofs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MerkleTree {
    /// Level 0 is the leaves; the last level is the root alone.
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// The tree over `leaves` (at least one).
    ///
    /// # Panics
    /// On an empty leaf list: a package has at least one piece, which the
    /// builder and the record parser enforce.
    pub fn new(leaves: Vec<Hash>) -> Self {
        assert!(!leaves.is_empty(), "a Merkle tree needs at least one leaf");
        let mut levels = vec![leaves];
        while let Some(last) = levels.last().filter(|l| l.len() > 1) {
            let up = last
                .chunks(2)
                .map(|p| match p {
                    [l, r] => node_hash(l, r),
                    [one] => *one,
                    _ => unreachable!("chunks(2) yields one or two"),
                })
                .collect();
            levels.push(up);
        }
        MerkleTree { levels }
    }

    /// The root.
    pub fn root(&self) -> Hash {
        self.levels[self.levels.len() - 1][0]
    }

    /// Number of leaves.
    pub fn leaf_count(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The leaf hashes.
    pub fn leaves(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// The proof of leaf `index`, or `None` past the last leaf.
    pub fn proof(&self, index: u64) -> Option<Vec<Hash>> {
        let mut i = usize::try_from(index).ok()?;
        if i >= self.levels[0].len() {
            return None;
        }
        let mut proof = Vec::new();
        for level in &self.levels[..self.levels.len() - 1] {
            if let Some(s) = level.get(i ^ 1) {
                proof.push(*s);
            }
            i /= 2;
        }
        Some(proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tree(n: usize) -> (MerkleTree, Vec<Vec<u8>>) {
        let pieces: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; 1 + i % 7]).collect();
        (
            MerkleTree::new(pieces.iter().map(|p| leaf_hash(p)).collect()),
            pieces,
        )
    }

    #[test]
    fn every_piece_verifies_alone_for_every_tree_shape() {
        for n in 1..40 {
            let (t, pieces) = tree(n);
            for (i, p) in pieces.iter().enumerate() {
                let proof = t.proof(i as u64).unwrap();
                assert_eq!(proof.len(), proof_len(i as u64, n as u64));
                assert!(proof.len() <= (n as f64).log2().ceil() as usize);
                assert_eq!(verify(&t.root(), i as u64, n as u64, p, &proof), Ok(()));
            }
            assert_eq!(t.proof(n as u64), None);
        }
    }

    #[test]
    fn a_single_piece_is_its_own_root() {
        let (t, pieces) = tree(1);
        assert_eq!(t.root(), leaf_hash(&pieces[0]));
        assert_eq!(t.proof(0), Some(vec![]));
    }

    #[test]
    fn leaves_and_nodes_are_domain_separated() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut pair = a.0.to_vec();
        pair.extend_from_slice(&b.0);
        // The bytes of a node's children, taken as a piece, hash elsewhere.
        assert_ne!(leaf_hash(&pair), MerkleTree::new(vec![a, b]).root());
        // A carried-up odd node does not make two lists share a root.
        let three = MerkleTree::new(vec![a, b, a]).root();
        let four = MerkleTree::new(vec![a, b, a, a]).root();
        assert_ne!(three, four);
    }

    #[test]
    fn bad_proofs_are_typed_errors() {
        let (t, pieces) = tree(5);
        let root = t.root();
        let proof = t.proof(2).unwrap();
        assert_eq!(
            verify(&root, 2, 5, b"corrupt", &proof),
            Err(ProofError::Mismatch { index: 2 })
        );
        assert_eq!(
            verify(&root, 3, 5, &pieces[2], &t.proof(3).unwrap()),
            Err(ProofError::Mismatch { index: 3 })
        );
        assert_eq!(
            verify(&root, 5, 5, &pieces[2], &proof),
            Err(ProofError::Index { index: 5, count: 5 })
        );
        assert_eq!(
            verify(&root, 2, 5, &pieces[2], &proof[1..]),
            Err(ProofError::Length {
                index: 2,
                got: 2,
                needed: 3
            })
        );
        // Piece 4 of 5 is carried up twice: its proof holds one hash.
        assert_eq!(t.proof(4).unwrap().len(), 1);
    }

    proptest! {
        #[test]
        fn hostile_proofs_never_panic_and_never_verify_a_wrong_piece(
            n in 1usize..300,
            index in any::<u64>(),
            count in any::<u64>(),
            hashes in proptest::collection::vec(any::<[u8; 32]>(), 0..40),
            piece in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            let (t, pieces) = tree(n);
            let proof: Vec<Hash> = hashes.into_iter().map(Hash).collect();
            // Random proofs of a foreign piece against a real root: never
            // accepted (short of a BLAKE3 collision).
            if !pieces.contains(&piece) {
                prop_assert!(verify(&t.root(), index, count, &piece, &proof).is_err());
            }
            // A real piece under a wrong index, or a flipped byte, fails.
            let i = (index % n as u64) as usize;
            let good = t.proof(i as u64).unwrap();
            prop_assert_eq!(verify(&t.root(), i as u64, n as u64, &pieces[i], &good), Ok(()));
            let mut bad = pieces[i].clone();
            bad[0] ^= 1;
            prop_assert!(verify(&t.root(), i as u64, n as u64, &bad, &good).is_err());
            if n > 1 {
                let j = ((i + 1) % n) as u64;
                prop_assert!(verify(&t.root(), j, n as u64, &pieces[i], &good).is_err());
            }
        }
    }
}
