//! A field node's secrets on disk: its node and publisher key pairs and
//! the local API's token, kept in the data directory.
//!
//! # Files
//!
//! ```text
//! DATA_DIR/            created with mode 0700 when okmesh creates it
//!   node.key           the node's key pair (who relays and answers)
//!   publisher.key      the publisher key pair (who signs what this node publishes)
//!   api-token          the local HTTP API's bearer token
//! ```
//!
//! Every file is written atomically (a `NAME.new` file with mode 0600,
//! `fsync`, rename over `NAME`, `fsync` of the directory) and refused when
//! read if its permissions let anyone but the owner read or write it
//! (wider than 0600), if it is not a regular file, if it is over
//! [`MAX_KEY_FILE_BYTES`], or if it is damaged. A refused file is never
//! replaced silently: the node stops with an error naming the file and why.
//!
//! # Key file format (also the backup format of `okmesh key export --secret`)
//!
//! UTF-8 text; empty lines and lines starting with `#` are ignored. One key
//! is a block of four lines:
//!
//! ```text
//! okmesh-key v1
//! role: publisher
//! public: 3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29
//! secret: 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
//! ```
//!
//! `role` is `node` or `publisher`; `public` and `secret` are 64 hex digits
//! (the Ed25519 public key and the 32-byte secret key). The public key is
//! derived from the secret and acts as a check: a file whose two halves do
//! not belong together is damaged and refused. A key file holds exactly one
//! block of its own role; a backup holds one block per role (at most one
//! each).
//!
//! # Token file format
//!
//! One line: 64 lowercase hex digits (32 bytes from the operating system),
//! then a newline.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use node_core::identity::{Keypair, PublicKey};

/// The node key's file name in the data directory.
pub const NODE_KEY_FILE: &str = "node.key";
/// The publisher key's file name in the data directory.
pub const PUBLISHER_KEY_FILE: &str = "publisher.key";
/// The API token's file name in the data directory.
pub const TOKEN_FILE: &str = "api-token";
/// Largest key, backup or token file read.
pub const MAX_KEY_FILE_BYTES: u64 = 16 * 1024;
/// The first line of a key block.
pub const KEY_MAGIC: &str = "okmesh-key v1";
/// Suffix of a file being written (renamed over the real name when complete).
const NEW_SUFFIX: &str = ".new";
/// The store's lock file (see [`crate::store`]): held while a node runs.
const STORE_LOCK_FILE: &str = "LOCK";

/// Which key pair.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub enum Role {
    /// The node's own key.
    Node,
    /// The key that signs what this node publishes.
    Publisher,
}

impl Role {
    /// Both roles, node first.
    pub const ALL: [Role; 2] = [Role::Node, Role::Publisher];

    /// The role's name in files and messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Publisher => "publisher",
        }
    }

    /// The role's file name in the data directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Role::Node => NODE_KEY_FILE,
            Role::Publisher => PUBLISHER_KEY_FILE,
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s {
            "node" => Some(Role::Node),
            "publisher" => Some(Role::Publisher),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key or token file could not be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// An operating-system call failed.
    #[error("{path}: {op} failed: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file can be read or written by others than its owner.
    #[error(
        "{path}: permissions {mode:04o} are wider than 0600 (others could read or change a secret); if the file is yours and nobody else had access, run `chmod 600 {path}`"
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The path is a directory, device or other non-file.
    #[error("{path}: not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file is larger than any key file okmesh writes.
    #[error("{path}: {len} bytes, over the limit of {MAX_KEY_FILE_BYTES} for a key or token file")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// The file's text is not what okmesh writes.
    #[error(
        "{path}:{line}: {reason} (the file is damaged; restore it from a backup with `okmesh key import`, or move it away and start afresh)"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line (0: the file as a whole).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The file does not exist.
    #[error("{path}: no such file ({hint})")]
    Missing {
        /// The file.
        path: PathBuf,
        /// How to create it.
        hint: &'static str,
    },
    /// A key would be replaced without `--force`.
    #[error(
        "{path}: a different {role} key is already there (fingerprint {existing}); give --force to replace it{warning}"
    )]
    Exists {
        /// The file.
        path: PathBuf,
        /// Which key.
        role: Role,
        /// The fingerprint of the key that is there.
        existing: String,
        /// What replacing it costs.
        warning: &'static str,
    },
    /// A node holds the data directory.
    #[error(
        "{path}: a running node holds this data directory (its store LOCK is taken); stop it first"
    )]
    InUse {
        /// The lock file.
        path: PathBuf,
    },
    /// The operating system gave no random bytes.
    #[error("cannot draw random bytes from the operating system: {0}")]
    Entropy(String),
}

fn io_err<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(io::Error) -> KeyFileError + 'a {
    move |source| KeyFileError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

fn corrupt(path: &Path, line: usize, reason: impl Into<String>) -> KeyFileError {
    KeyFileError::Corrupt {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyFileError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| KeyFileError::Entropy(e.to_string()))?;
    Ok(out)
}

/// A fresh key pair whose secret comes from the operating system.
pub fn generate_keypair() -> Result<Keypair, KeyFileError> {
    Ok(Keypair::from_secret_bytes(&random_bytes::<32>()?))
}

/// The node's two key pairs, loaded once at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    /// The node's own key.
    pub node: Keypair,
    /// The key that signs what this node publishes.
    pub publisher: Keypair,
}

/// Where a node's [`Keys`] came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeysOrigin {
    /// Read from the data directory.
    Loaded,
    /// Created in the data directory now (the first start); `created` says
    /// which roles were new.
    Created {
        /// Whether the node key was new.
        node: bool,
        /// Whether the publisher key was new.
        publisher: bool,
    },
    /// Drawn for this run only (no data directory).
    Ephemeral,
}

impl KeysOrigin {
    /// The name `GET /status` shows.
    pub fn name(self) -> &'static str {
        match self {
            KeysOrigin::Loaded | KeysOrigin::Created { .. } => "data-dir",
            KeysOrigin::Ephemeral => "ephemeral",
        }
    }
}

impl Keys {
    /// Fresh keys for one run, stored nowhere.
    pub fn ephemeral() -> Result<Keys, KeyFileError> {
        Ok(Keys {
            node: generate_keypair()?,
            publisher: generate_keypair()?,
        })
    }

    /// The key of `role`.
    pub fn get(&self, role: Role) -> &Keypair {
        match role {
            Role::Node => &self.node,
            Role::Publisher => &self.publisher,
        }
    }

    /// Reads both keys from `dir`; a missing one is an error.
    pub fn load(dir: &Path) -> Result<Keys, KeyFileError> {
        Ok(Keys {
            node: read_key_file(&dir.join(NODE_KEY_FILE), Role::Node)?,
            publisher: read_key_file(&dir.join(PUBLISHER_KEY_FILE), Role::Publisher)?,
        })
    }

    /// Reads both keys from `dir`, creating the missing ones (the first
    /// start). A file that exists but cannot be used is an error, never
    /// replaced.
    pub fn load_or_create(dir: &Path) -> Result<(Keys, KeysOrigin), KeyFileError> {
        let mut created = [false; 2];
        let mut pairs = Vec::with_capacity(2);
        for (i, role) in Role::ALL.into_iter().enumerate() {
            let path = dir.join(role.file_name());
            let key = match read_key_file(&path, role) {
                Ok(k) => k,
                Err(KeyFileError::Missing { .. }) => {
                    let k = generate_keypair()?;
                    write_secret_file(dir, role.file_name(), key_text(role, &k).as_bytes())?;
                    created[i] = true;
                    k
                }
                Err(e) => return Err(e),
            };
            pairs.push(key);
        }
        let publisher = pairs.pop().expect("two keys");
        let node = pairs.pop().expect("two keys");
        let origin = if created == [false, false] {
            KeysOrigin::Loaded
        } else {
            KeysOrigin::Created {
                node: created[0],
                publisher: created[1],
            }
        };
        Ok((Keys { node, publisher }, origin))
    }
}

/// One key block's text (the key file format).
pub fn key_text(role: Role, key: &Keypair) -> String {
    format!(
        "# okmesh {role} key {fp}: SECRET, keep it private (mode 0600) and backed up\n{KEY_MAGIC}\nrole: {role}\npublic: {public}\nsecret: {secret}\n",
        fp = key.public().fingerprint(),
        public = key.public(),
        secret = hex(&key.secret_bytes()),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Parses key blocks (a key file or a backup); `path` names the source in
/// errors. Each role appears at most once; at least one block is required.
pub fn parse_keys(text: &str, path: &Path) -> Result<Vec<(Role, Keypair)>, KeyFileError> {
    /// A block being read: its first line and the fields seen so far.
    struct Block {
        line: usize,
        role: Option<Role>,
        public: Option<(usize, PublicKey)>,
        secret: Option<[u8; 32]>,
    }
    fn finish(b: Block, path: &Path, out: &mut Vec<(Role, Keypair)>) -> Result<(), KeyFileError> {
        let missing = |f: &str| corrupt(path, b.line, format!("the key block has no `{f}:` line"));
        let role = b.role.ok_or_else(|| missing("role"))?;
        let (public_line, public) = b.public.ok_or_else(|| missing("public"))?;
        let secret = b.secret.ok_or_else(|| missing("secret"))?;
        let key = Keypair::from_secret_bytes(&secret);
        if key.public() != public {
            return Err(corrupt(
                path,
                public_line,
                "the public key does not belong to the secret key",
            ));
        }
        if out.iter().any(|(r, _)| *r == role) {
            return Err(corrupt(path, b.line, format!("a second {role} key")));
        }
        out.push((role, key));
        Ok(())
    }

    let mut out = Vec::new();
    let mut block: Option<Block> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if l == KEY_MAGIC {
            if let Some(b) = block.take() {
                finish(b, path, &mut out)?;
            }
            block = Some(Block {
                line,
                role: None,
                public: None,
                secret: None,
            });
            continue;
        }
        let Some(b) = block.as_mut() else {
            return Err(corrupt(
                path,
                line,
                format!("expected `{KEY_MAGIC}` before any key field"),
            ));
        };
        let Some((field, value)) = l.split_once(':') else {
            return Err(corrupt(path, line, "expected `FIELD: VALUE`"));
        };
        let value = value.trim();
        let repeated = || {
            corrupt(
                path,
                line,
                format!("`{field}` given twice in one key block"),
            )
        };
        match field.trim() {
            "role" => {
                if b.role.is_some() {
                    return Err(repeated());
                }
                b.role =
                    Some(Role::parse(value).ok_or_else(|| {
                        corrupt(path, line, "role must be `node` or `publisher`")
                    })?);
            }
            "public" => {
                if b.public.is_some() {
                    return Err(repeated());
                }
                let k = PublicKey::from_hex(value)
                    .map_err(|e| corrupt(path, line, format!("public key: {e}")))?;
                b.public = Some((line, k));
            }
            "secret" => {
                if b.secret.is_some() {
                    return Err(repeated());
                }
                b.secret =
                    Some(parse_hex32(value).ok_or_else(|| {
                        corrupt(path, line, "secret key: expected 64 hex digits")
                    })?);
            }
            other => {
                return Err(corrupt(
                    path,
                    line,
                    format!(
                        "unknown field `{}` (expected role, public, secret)",
                        other.chars().take(40).collect::<String>()
                    ),
                ));
            }
        }
    }
    match block {
        Some(b) => finish(b, path, &mut out)?,
        None => return Err(corrupt(path, 0, format!("no key block (`{KEY_MAGIC}`)"))),
    }
    Ok(out)
}

/// Opens a secret file for reading after checking that it is a regular
/// file no larger than [`MAX_KEY_FILE_BYTES`] that only its owner can read
/// or write; returns its text.
fn read_secret_file(path: &Path, hint: &'static str) -> Result<String, KeyFileError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(KeyFileError::Missing {
                path: path.to_path_buf(),
                hint,
            });
        }
        Err(e) => return Err(io_err(path, "open")(e)),
    };
    let meta = file.metadata().map_err(io_err(path, "stat"))?;
    if !meta.is_file() {
        return Err(KeyFileError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::TooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyFileError::TooLarge {
            path: path.to_path_buf(),
            len: meta.len(),
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&mut file)
        .take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err(path, "read"))?;
    String::from_utf8(bytes).map_err(|_| corrupt(path, 0, "not UTF-8 text"))
}

/// Reads the key file `path`, which must hold exactly one key of `role`.
pub fn read_key_file(path: &Path, role: Role) -> Result<Keypair, KeyFileError> {
    let text = read_secret_file(
        path,
        "keys are created on the first `okmesh node --data-dir DIR` or by `okmesh key new`",
    )?;
    let mut keys = parse_keys(&text, path)?;
    match keys.as_slice() {
        [(r, _)] if *r == role => Ok(keys.remove(0).1),
        [(r, _)] => Err(corrupt(
            path,
            0,
            format!("holds a {r} key where the {role} key belongs"),
        )),
        _ => Err(corrupt(path, 0, "a key file holds one key; this holds two")),
    }
}

/// Creates `dir` (and missing parents) with mode 0700; an existing
/// directory is left as it is.
pub fn create_data_dir(dir: &Path) -> Result<(), KeyFileError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(io_err(dir, "create directory"))
}

/// Writes `bytes` to `dir/name` atomically with mode 0600 (see the module
/// docs), replacing what was there.
pub fn write_secret_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), KeyFileError> {
    create_data_dir(dir)?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}{NEW_SUFFIX}"));
    // A leftover of an interrupted write holds nothing that was in force.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&tmp, "remove")(e)),
    }
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(&tmp).map_err(io_err(&tmp, "create"))?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_err(&tmp, "write"));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    drop(file);
    fs::rename(&tmp, &path).map_err(io_err(&path, "rename"))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "fsync directory"))
}

/// Whether `dir` holds any okmesh key or token file (a data directory made
/// by `okmesh key new` before the store existed).
pub fn has_key_files(dir: &Path) -> bool {
    [NODE_KEY_FILE, PUBLISHER_KEY_FILE, TOKEN_FILE]
        .iter()
        .any(|f| dir.join(f).exists())
}

/// Holds the data directory against a node starting while keys change: if
/// the store's LOCK exists it is taken (non-blocking) for as long as the
/// returned file lives; a LOCK another process holds is
/// [`KeyFileError::InUse`].
pub fn lock_data_dir(dir: &Path) -> Result<Option<File>, KeyFileError> {
    let path = dir.join(STORE_LOCK_FILE);
    let file = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path, "open")(e)),
    };
    #[cfg(unix)]
    {
        use rustix::fs::{FlockOperation, flock};
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => return Err(KeyFileError::InUse { path }),
            Err(e) => return Err(io_err(&path, "lock")(e.into())),
        }
    }
    Ok(Some(file))
}

/// The local API's bearer token. Its `Debug` shows no digit of it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(…)")
    }
}

impl ApiToken {
    /// A fresh token from the operating system's random source.
    pub fn generate() -> Result<ApiToken, KeyFileError> {
        Ok(ApiToken(hex(&random_bytes::<32>()?)))
    }

    /// The token's text (64 hex digits), for showing it to its owner.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is the token, compared in time that does not
    /// depend on where they differ.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let mine = self.0.as_bytes();
        if candidate.len() != mine.len() {
            return false;
        }
        mine.iter()
            .zip(candidate)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// Reads the token file in `dir`.
    pub fn load(dir: &Path) -> Result<ApiToken, KeyFileError> {
        let path = dir.join(TOKEN_FILE);
        let text = read_secret_file(
            &path,
            "the token is created on the first `okmesh node --http ADDR --data-dir DIR`",
        )?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let token = lines
            .next()
            .map(str::trim)
            .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| corrupt(&path, 1, "expected 64 hex digits"))?;
        if lines.next().is_some() {
            return Err(corrupt(&path, 2, "expected one line"));
        }
        Ok(ApiToken(token.to_ascii_lowercase()))
    }

    /// Reads the token file in `dir`, creating it if it is missing; the
    /// flag says whether it was created now.
    pub fn load_or_create(dir: &Path) -> Result<(ApiToken, bool), KeyFileError> {
        match ApiToken::load(dir) {
            Ok(t) => Ok((t, false)),
            Err(KeyFileError::Missing { .. }) => {
                let t = ApiToken::generate()?;
                write_secret_file(dir, TOKEN_FILE, format!("{}\n", t.0).as_bytes())?;
                Ok((t, true))
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn first_start_creates_private_files_and_the_next_reads_them() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("data");
        let (keys, origin) = Keys::load_or_create(&dir).unwrap();
        assert_eq!(
            origin,
            KeysOrigin::Created {
                node: true,
                publisher: true
            }
        );
        assert_ne!(keys.node.public(), keys.publisher.public());
        #[cfg(unix)]
        {
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&dir.join(NODE_KEY_FILE)), 0o600);
            assert_eq!(mode(&dir.join(PUBLISHER_KEY_FILE)), 0o600);
        }
        let (again, origin) = Keys::load_or_create(&dir).unwrap();
        assert_eq!((again, origin), (keys.clone(), KeysOrigin::Loaded));
        assert_eq!(Keys::load(&dir).unwrap(), keys);
        // Only the missing one is made.
        fs::remove_file(dir.join(NODE_KEY_FILE)).unwrap();
        let (third, origin) = Keys::load_or_create(&dir).unwrap();
        assert_eq!(third.publisher, keys.publisher);
        assert_ne!(third.node, keys.node);
        assert_eq!(
            origin,
            KeysOrigin::Created {
                node: true,
                publisher: false
            }
        );
        assert!(!dir.join(format!("{NODE_KEY_FILE}{NEW_SUFFIX}")).exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused_not_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let (keys, _) = Keys::load_or_create(t.path()).unwrap();
        let path = t.path().join(PUBLISHER_KEY_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let before = fs::read(&path).unwrap();
        let e = Keys::load_or_create(t.path()).unwrap_err();
        assert!(
            matches!(e, KeyFileError::TooOpen { mode: 0o644, .. }),
            "{e}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("publisher.key") && msg.contains("0644") && msg.contains("chmod 600"),
            "{msg}"
        );
        assert_eq!(fs::read(&path).unwrap(), before);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Keys::load(t.path()).unwrap(), keys);
    }

    #[test]
    fn damaged_key_files_are_refused_with_the_line() {
        let t = tempfile::tempdir().unwrap();
        let (keys, _) = Keys::load_or_create(t.path()).unwrap();
        let path = t.path().join(NODE_KEY_FILE);
        let good = fs::read_to_string(&path).unwrap();
        let secret = hex(&keys.node.secret_bytes());
        let mut flipped = secret.clone().into_bytes();
        flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        for (text, needle) in [
            (
                good.replace(&secret, &flipped),
                "does not belong to the secret",
            ),
            (
                good.replace("role: node", "role: publisher"),
                "holds a publisher key",
            ),
            (
                good.replace("secret: ", "secret: zz"),
                ":5: secret key: expected 64 hex",
            ),
            (
                good.replace(KEY_MAGIC, "okmesh-key v9"),
                ":2: expected `okmesh-key v1`",
            ),
            (good.replace("role: node\n", ""), "no `role:` line"),
            (format!("{good}{good}"), "a second node key"),
            (String::new(), "no key block"),
            (good.replace("public", "colour"), "unknown field `colour`"),
        ] {
            write_secret_file(t.path(), NODE_KEY_FILE, text.as_bytes()).unwrap();
            let e = Keys::load_or_create(t.path()).unwrap_err();
            assert!(matches!(e, KeyFileError::Corrupt { .. }), "{e}");
            let msg = e.to_string();
            assert!(
                msg.contains(needle) && msg.contains("node.key"),
                "{needle}: {msg}"
            );
            // Never replaced.
            assert_eq!(fs::read_to_string(&path).unwrap(), text);
        }
        write_secret_file(t.path(), NODE_KEY_FILE, &[0xff, 0xfe]).unwrap();
        assert!(
            Keys::load(t.path())
                .unwrap_err()
                .to_string()
                .contains("not UTF-8")
        );
        write_secret_file(t.path(), NODE_KEY_FILE, &vec![b'#'; 20_000]).unwrap();
        assert!(matches!(
            Keys::load(t.path()),
            Err(KeyFileError::TooLarge { .. })
        ));
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        assert!(matches!(
            Keys::load(t.path()),
            Err(KeyFileError::NotAFile { .. })
        ));
    }

    #[test]
    fn a_backup_holds_both_keys_and_reads_back() {
        let keys = Keys::ephemeral().unwrap();
        let text = format!(
            "# backup\n{}\n{}",
            key_text(Role::Node, &keys.node),
            key_text(Role::Publisher, &keys.publisher)
        );
        let parsed = parse_keys(&text, Path::new("backup.txt")).unwrap();
        assert_eq!(
            parsed,
            vec![
                (Role::Node, keys.node.clone()),
                (Role::Publisher, keys.publisher.clone())
            ]
        );
    }

    #[test]
    fn tokens_are_created_once_private_and_compared_whole() {
        let t = tempfile::tempdir().unwrap();
        let (tok, created) = ApiToken::load_or_create(t.path()).unwrap();
        assert!(created);
        assert_eq!(tok.reveal().len(), 64);
        #[cfg(unix)]
        assert_eq!(mode(&t.path().join(TOKEN_FILE)), 0o600);
        let (again, created) = ApiToken::load_or_create(t.path()).unwrap();
        assert!(!created);
        assert_eq!(again, tok);
        assert!(tok.matches(tok.reveal().as_bytes()));
        assert!(!tok.matches(&tok.reveal().as_bytes()[1..]));
        assert!(!tok.matches(ApiToken::generate().unwrap().reveal().as_bytes()));
        assert!(!format!("{tok:?}").contains(&tok.reveal()[..8]));
        write_secret_file(t.path(), TOKEN_FILE, b"short\n").unwrap();
        let e = ApiToken::load_or_create(t.path()).unwrap_err();
        assert!(
            e.to_string()
                .contains("api-token:1: expected 64 hex digits"),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_running_node_holds_the_data_dir() {
        let t = tempfile::tempdir().unwrap();
        assert!(lock_data_dir(t.path()).unwrap().is_none());
        let store = crate::store::DiskStorage::open(t.path()).unwrap();
        assert!(matches!(
            lock_data_dir(t.path()),
            Err(KeyFileError::InUse { .. })
        ));
        drop(store);
        assert!(lock_data_dir(t.path()).unwrap().is_some());
    }
}
