//! `--api ADDR`: the signal commands against a running node's local HTTP
//! API ([`hw_bridge::http`]) instead of its stopped store. A small
//! HTTP/1.1 client on a plain socket, one request per connection, as a
//! program talks to the API: `X-Okmesh-Client` on writes, the bearer
//! token from the data directory (`--data-dir`, `$OKMESH_DATA_DIR`) or
//! `$OKMESH_API_TOKEN`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration as StdDuration;

use serde_json::Value;

use super::{CliError, bad};

/// The environment variable holding the API token when no data directory
/// is given.
pub(crate) const TOKEN_ENV: &str = "OKMESH_API_TOKEN";
/// Longest wait for the node to answer.
const TIMEOUT: StdDuration = StdDuration::from_secs(30);
/// Largest answer read.
const MAX_ANSWER_BYTES: u64 = 16 << 20;

/// `--api`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ApiArg {
    /// Ask a running node's local API (its --http address, e.g.
    /// 127.0.0.1:8080) instead of opening its store; the token comes from
    /// --data-dir or $OKMESH_API_TOKEN.
    #[arg(long, value_name = "ADDR")]
    api: Option<String>,
}

/// A running node's API.
#[derive(Debug)]
pub(crate) struct Api {
    addr: String,
    token: Option<String>,
}

impl ApiArg {
    /// The API to use, if `--api` was given; `dir` is where the token is.
    pub(crate) fn open(&self, dir: Option<PathBuf>) -> Result<Option<Api>, CliError> {
        let Some(addr) = self.api.clone() else {
            return Ok(None);
        };
        Api::new(addr, dir).map(Some)
    }
}

impl Api {
    /// The API at `addr`; `dir` is where the token is (else
    /// `$OKMESH_API_TOKEN`, else none: reads only, on loopback).
    pub(crate) fn new(addr: String, dir: Option<PathBuf>) -> Result<Api, CliError> {
        let token = match dir {
            Some(dir) => Some(
                hw_bridge::keys::ApiToken::load(&dir)
                    .map_err(|e| bad(format!("--data-dir: {e}")))?
                    .reveal()
                    .to_owned(),
            ),
            None => std::env::var(TOKEN_ENV)
                .ok()
                .filter(|t| !t.trim().is_empty()),
        };
        Ok(Api { addr, token })
    }
}

/// Percent-encodes a query value (a `+` would read as a space).
pub(crate) fn enc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Api {
    /// The address, for messages.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// `GET path`: the JSON answer.
    pub(crate) fn get(&self, path: &str) -> Result<Value, CliError> {
        self.request("GET", path, &[]).map(|(_, v)| v)
    }

    /// `POST path` with an empty body: the status and the JSON answer.
    pub(crate) fn post(&self, path: &str) -> Result<(u16, Value), CliError> {
        self.request("POST", path, &[])
    }

    /// `POST path` with `body` (application/octet-stream): the status and
    /// the JSON answer.
    pub(crate) fn post_bytes(&self, path: &str, body: &[u8]) -> Result<(u16, Value), CliError> {
        self.request("POST", path, body)
    }

    fn request(&self, method: &str, path: &str, body: &[u8]) -> Result<(u16, Value), CliError> {
        let at = |what: String| CliError::Io(format!("--api {}: {what}", self.addr));
        let sock = self
            .addr
            .to_socket_addrs()
            .map_err(|e| bad(format!("--api {}: {e} (give HOST:PORT)", self.addr)))?
            .next()
            .ok_or_else(|| bad(format!("--api {}: no address", self.addr)))?;
        let mut s = TcpStream::connect_timeout(&sock, TIMEOUT).map_err(|e| {
            at(format!(
                "cannot connect: {e} (is the node running with --http {}?)",
                self.addr
            ))
        })?;
        s.set_read_timeout(Some(TIMEOUT))
            .map_err(|e| at(e.to_string()))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nX-Okmesh-Client: okmesh-cli\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if !body.is_empty() {
            head.push_str("Content-Type: application/octet-stream\r\n");
        }
        if let Some(t) = &self.token {
            head.push_str(&format!("Authorization: Bearer {}\r\n", t.trim()));
        }
        head.push_str("\r\n");
        // A node that refuses a large body early (413, 401) answers before
        // it has read it all: its answer says more than the broken pipe.
        let sent = s
            .write_all(head.as_bytes())
            .and_then(|()| s.write_all(body));
        let mut raw = Vec::new();
        let read = s.take(MAX_ANSWER_BYTES).read_to_end(&mut raw);
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n");
        let split = match (sent, read, split) {
            (_, _, Some(split)) => split,
            (Err(e), _, None) => return Err(at(format!("sending: {e}"))),
            (Ok(()), Err(e), None) => return Err(at(format!("reading the answer: {e}"))),
            (Ok(()), Ok(_), None) => return Err(at("not an HTTP answer".into())),
        };
        let status: u16 = String::from_utf8_lossy(&raw[..split])
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| at("no status in the answer".into()))?;
        let body: Value = serde_json::from_slice(&raw[split + 4..])
            .map_err(|e| at(format!("{method} {path}: the answer is not JSON: {e}")))?;
        if status >= 400 {
            let why = body["error"].as_str().unwrap_or("no reason given");
            let msg = format!("--api {}: {method} {path}: {status}: {why}", self.addr);
            return Err(if status >= 500 {
                CliError::Failed(msg)
            } else {
                CliError::BadInput(msg)
            });
        }
        Ok((status, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            enc("material=pla+petg, 3d"),
            "material%3Dpla%2Bpetg%2C%203d"
        );
        assert_eq!(enc("3d-printing"), "3d-printing");
    }
}
