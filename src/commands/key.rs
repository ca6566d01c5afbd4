//! `okmesh key`: a field node's key pairs and API token in its data
//! directory (file formats in [`hw_bridge::keys`]).
//!
//! * `key new` creates the node and publisher key pairs (`--key` one of
//!   them); replacing an existing one needs `--force`.
//! * `key show` prints both fingerprints and public keys (`--json`), or
//!   the API token (`--token`).
//! * `key export` prints the publisher public key as a line for another
//!   node's `--trust` file (`--key node` for the node key); `--secret`
//!   prints a backup of the secret keys instead, with a warning on stderr.
//! * `key import FILE` restores keys from such a backup.
//!
//! The data directory is `--data-dir DIR`, else `$OKMESH_DATA_DIR`. Keys
//! are not changed while a node runs on the directory (its store LOCK is
//! held).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hw_bridge::keys::{self, ApiToken, KeyFileError, Keys, Role};
use node_core::identity::Keypair;

use crate::commands::{CliError, bad};

/// The environment variable naming the data directory when `--data-dir`
/// is not given.
pub(crate) const DATA_DIR_ENV: &str = "OKMESH_DATA_DIR";

/// Arguments of `okmesh key`.
#[derive(clap::Args, Debug)]
pub(crate) struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

/// Which key(s) a command acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Which {
    /// The node key.
    Node,
    /// The publisher key.
    Publisher,
    /// Both.
    Both,
}

impl Which {
    fn roles(self) -> Vec<Role> {
        match self {
            Which::Node => vec![Role::Node],
            Which::Publisher => vec![Role::Publisher],
            Which::Both => Role::ALL.to_vec(),
        }
    }
}

/// The data directory argument.
#[derive(clap::Args, Debug)]
pub(crate) struct DataDir {
    /// The node's data directory (default: $OKMESH_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl DataDir {
    /// The directory if one is given (flag or environment).
    pub(crate) fn opt(&self) -> Option<PathBuf> {
        self.get().ok()
    }

    pub(crate) fn get(&self) -> Result<PathBuf, CliError> {
        match &self.data_dir {
            Some(d) => Ok(d.clone()),
            None => match std::env::var_os(DATA_DIR_ENV) {
                Some(d) if !d.is_empty() => Ok(PathBuf::from(d)),
                _ => Err(bad(format!(
                    "give --data-dir DIR (the node's --data-dir) or set {DATA_DIR_ENV}"
                ))),
            },
        }
    }
}

#[derive(clap::Subcommand, Debug)]
enum KeyCommand {
    /// Create the node and publisher key pairs (a node also creates them on its first start).
    New {
        #[command(flatten)]
        dir: DataDir,
        /// Which key pair(s) to create.
        #[arg(long = "key", value_enum, default_value = "both")]
        which: Which,
        /// Replace existing keys. A new publisher key means new design ids:
        /// designs published under the old one can no longer be updated.
        #[arg(long)]
        force: bool,
    },
    /// Print the fingerprints and public keys of both key pairs.
    Show {
        #[command(flatten)]
        dir: DataDir,
        /// Print the local API's token instead (for `Authorization: Bearer`).
        #[arg(long, conflicts_with = "json")]
        token: bool,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print a public key as a line for another node's --trust file, or with
    /// --secret a backup of the secret keys.
    Export {
        #[command(flatten)]
        dir: DataDir,
        /// Which key (default: publisher; with --secret: both).
        #[arg(long = "key", value_enum)]
        which: Option<Which>,
        /// Print the SECRET keys (a backup for `okmesh key import`).
        #[arg(long)]
        secret: bool,
        /// A label after the key on the trust line.
        #[arg(long, conflicts_with = "secret")]
        label: Option<String>,
    },
    /// Restore keys from a backup made by `okmesh key export --secret`.
    Import {
        /// The backup file.
        file: PathBuf,
        #[command(flatten)]
        dir: DataDir,
        /// Replace keys that differ from the backup's.
        #[arg(long)]
        force: bool,
    },
}

fn key_err(e: KeyFileError) -> CliError {
    match e {
        KeyFileError::Entropy(_) => CliError::Failed(e.to_string()),
        other => CliError::BadInput(other.to_string()),
    }
}

/// What replacing a key of `role` costs, for messages.
fn replace_warning(role: Role) -> &'static str {
    match role {
        Role::Publisher => {
            " (a new publisher key means new design ids: designs published under the old key can no longer be updated)"
        }
        Role::Node => "",
    }
}

/// Writes `key` as `role`'s key in `dir` unless a different one is there
/// and `force` is not given. Returns whether the file changed.
fn install(dir: &Path, role: Role, key: &Keypair, force: bool) -> Result<bool, CliError> {
    let path = dir.join(role.file_name());
    match keys::read_key_file(&path, role) {
        Ok(existing) if existing == *key => return Ok(false),
        Ok(existing) if !force => {
            return Err(key_err(KeyFileError::Exists {
                path,
                role,
                existing: existing.public().fingerprint().to_string(),
                warning: replace_warning(role),
            }));
        }
        Ok(_) | Err(KeyFileError::Missing { .. }) => {}
        // A damaged or too-open file is replaced only when asked.
        Err(e) if !force => return Err(key_err(e)),
        Err(_) => {}
    }
    keys::write_secret_file(dir, role.file_name(), keys::key_text(role, key).as_bytes())
        .map_err(key_err)?;
    Ok(true)
}

fn key_line(role: Role, key: &Keypair) -> String {
    format!(
        "{:<10} {}  {}",
        role.name(),
        key.public().fingerprint(),
        key.public()
    )
}

fn key_json(key: &Keypair) -> serde_json::Value {
    serde_json::json!({
        "fingerprint": key.public().fingerprint().to_string(),
        "public_key": key.public().to_string(),
    })
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
pub(crate) fn run(args: KeyArgs) -> Result<ExitCode, CliError> {
    match args.command {
        KeyCommand::New { dir, which, force } => {
            let dir = dir.get()?;
            keys::create_data_dir(&dir).map_err(key_err)?;
            let _lock = keys::lock_data_dir(&dir).map_err(key_err)?;
            // Check every key before writing any, so a refusal changes nothing.
            for role in which.roles() {
                let path = dir.join(role.file_name());
                if !force && path.exists() {
                    let existing = keys::read_key_file(&path, role)
                        .map(|k| k.public().fingerprint().to_string())
                        .unwrap_or_else(|e| format!("unreadable: {e}"));
                    return Err(key_err(KeyFileError::Exists {
                        path,
                        role,
                        existing,
                        warning: replace_warning(role),
                    }));
                }
            }
            for role in which.roles() {
                let path = dir.join(role.file_name());
                if path.exists() {
                    eprintln!(
                        "warning: replacing {}{}",
                        path.display(),
                        replace_warning(role)
                    );
                }
                let key = keys::generate_keypair().map_err(key_err)?;
                install(&dir, role, &key, true)?;
                println!("{}", key_line(role, &key));
            }
        }
        KeyCommand::Show { dir, token, json } => {
            let dir = dir.get()?;
            if token {
                let t = ApiToken::load(&dir).map_err(key_err)?;
                println!("{}", t.reveal());
                return Ok(ExitCode::SUCCESS);
            }
            let k = Keys::load(&dir).map_err(key_err)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "data_dir": dir.display().to_string(),
                        "node": key_json(&k.node),
                        "publisher": key_json(&k.publisher),
                    })
                );
            } else {
                for role in Role::ALL {
                    println!("{}", key_line(role, k.get(role)));
                }
            }
        }
        KeyCommand::Export {
            dir,
            which,
            secret,
            label,
        } => {
            let dir = dir.get()?;
            if secret {
                let roles = which.unwrap_or(Which::Both).roles();
                let mut text = format!(
                    "# okmesh key backup of {}: SECRET. Anyone holding it can publish as you.\n# Restore with `okmesh key import FILE --data-dir DIR`.\n",
                    dir.display()
                );
                for role in roles {
                    let key =
                        keys::read_key_file(&dir.join(role.file_name()), role).map_err(key_err)?;
                    text.push_str(&keys::key_text(role, &key));
                }
                eprintln!(
                    "warning: these are SECRET keys: anyone who has them can publish and update designs as this node. Keep the backup offline (a USB stick in a drawer), never in a chat or a repository."
                );
                print!("{text}");
            } else {
                let role = match which.unwrap_or(Which::Publisher) {
                    Which::Node => Role::Node,
                    Which::Publisher => Role::Publisher,
                    Which::Both => {
                        return Err(bad(
                            "--key both: a public export is one key; give node or publisher",
                        ));
                    }
                };
                let key =
                    keys::read_key_file(&dir.join(role.file_name()), role).map_err(key_err)?;
                let label = label.unwrap_or_default();
                if label.contains(['\n', '\r', '#']) {
                    return Err(bad("--label: no newlines or '#' (it ends the line)"));
                }
                println!(
                    "# okmesh {role} key {}: add this line to a --trust file to pin it",
                    key.public().fingerprint()
                );
                if label.is_empty() {
                    println!("{}", key.public());
                } else {
                    println!("{}  {}", key.public(), label.trim());
                }
            }
        }
        KeyCommand::Import { file, dir, force } => {
            let dir = dir.get()?;
            let len = std::fs::metadata(&file)
                .map_err(|e| bad(format!("{}: {e}", file.display())))?
                .len();
            if len > keys::MAX_KEY_FILE_BYTES {
                return Err(bad(format!(
                    "{}: {len} bytes, over the limit of {} for a key backup",
                    file.display(),
                    keys::MAX_KEY_FILE_BYTES
                )));
            }
            let text = std::fs::read_to_string(&file)
                .map_err(|e| bad(format!("{}: {e}", file.display())))?;
            let backup = keys::parse_keys(&text, &file).map_err(key_err)?;
            keys::create_data_dir(&dir).map_err(key_err)?;
            let _lock = keys::lock_data_dir(&dir).map_err(key_err)?;
            // Check every key before writing any, so a refusal changes nothing.
            if !force {
                for (role, key) in &backup {
                    if let Ok(existing) = keys::read_key_file(&dir.join(role.file_name()), *role)
                        && existing != *key
                    {
                        return Err(key_err(KeyFileError::Exists {
                            path: dir.join(role.file_name()),
                            role: *role,
                            existing: existing.public().fingerprint().to_string(),
                            warning: replace_warning(*role),
                        }));
                    }
                }
            }
            for (role, key) in &backup {
                let changed = install(&dir, *role, key, force)?;
                println!(
                    "{}  {}",
                    key_line(*role, key),
                    if changed { "restored" } else { "unchanged" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
