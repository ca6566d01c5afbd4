//! What every request must show before it is routed: a `Host` naming this
//! server, no foreign `Origin`, the token where one is needed, and for a
//! write a body type no web form can send. See the parent module's docs
//! for the rules.

use std::net::{IpAddr, SocketAddr};

use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, ORIGIN};
use hyper::{HeaderMap, Method, StatusCode};

use super::Failure;
use crate::keys::ApiToken;

/// The custom header that marks a write as coming from a program, not a
/// web form (any value).
pub const CLIENT_HEADER: &str = "x-okmesh-client";

/// Body types a write may carry without [`CLIENT_HEADER`]. None of them is
/// one a cross-origin page can send without the browser asking first (a
/// CORS preflight, which this server never grants).
pub const WRITE_CONTENT_TYPES: [&str; 6] = [
    "application/json",
    "application/toml",
    "application/yaml",
    "application/x-yaml",
    "text/yaml",
    "application/octet-stream",
];

/// The checks, set up for one listening address.
#[derive(Debug)]
pub(super) struct Guard {
    token: ApiToken,
    bound: SocketAddr,
    /// Whether the API listens on a loopback address only.
    loopback: bool,
    /// Extra host names accepted in `Host`, lowercase.
    hosts: Vec<String>,
    /// How to get the token, for error messages.
    token_hint: String,
}

/// Splits `host[:port]` / `[v6][:port]`; `None` if it is malformed.
fn split_authority(a: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        }
    };
    if host.is_empty() || (host.contains(':') && !a.starts_with('[')) {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
    };
    Some((host, port))
}

fn forbidden(message: String) -> Failure {
    Failure::new(StatusCode::FORBIDDEN, message)
}

fn header_text(
    headers: &HeaderMap,
    name: impl hyper::header::AsHeaderName,
) -> Option<Result<&str, ()>> {
    headers.get(name).map(|v| v.to_str().map_err(|_| ()))
}

impl Guard {
    pub(super) fn new(
        token: ApiToken,
        bound: SocketAddr,
        hosts: &[String],
        token_hint: String,
    ) -> Guard {
        Guard {
            token,
            bound,
            loopback: bound.ip().is_loopback(),
            hosts: hosts
                .iter()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            token_hint,
        }
    }

    /// Whether `authority` (a `Host` value, or an `Origin` without its
    /// scheme) names this server as reached through `local`.
    fn names_us(&self, authority: &str, local: SocketAddr) -> bool {
        let Some((host, port)) = split_authority(authority) else {
            return false;
        };
        if port.unwrap_or(80) != self.bound.port() {
            return false;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host == "localhost" || self.hosts.contains(&host) {
            return true;
        }
        match host.parse::<IpAddr>() {
            Ok(ip) => ip == local.ip() || ip == self.bound.ip(),
            Err(_) => false,
        }
    }

    /// Whether requests with this method change state.
    fn is_write(method: &Method) -> bool {
        !matches!(*method, Method::GET | Method::HEAD)
    }

    /// Checks a request's headers; `local` is the address the connection
    /// arrived at.
    pub(super) fn check(
        &self,
        method: &Method,
        headers: &HeaderMap,
        local: SocketAddr,
    ) -> Result<(), Failure> {
        // Host: a page that reaches us through a name it controls (DNS
        // rebinding) sends that name.
        let host = match header_text(headers, HOST) {
            None => return Err(Failure::bad("a Host header is required")),
            Some(Err(())) => return Err(forbidden("Host is not text".into())),
            Some(Ok(h)) => h,
        };
        if !self.names_us(host, local) {
            return Err(forbidden(format!(
                "Host '{}' does not name this server (use {}, localhost:{} or a name given with --http-host)",
                crate::logs::Escaped(host),
                self.bound,
                self.bound.port()
            )));
        }
        // Origin: a browser names the page that made the request.
        if let Some(origin) = header_text(headers, ORIGIN) {
            let ok = origin.is_ok_and(|o| {
                o.strip_prefix("http://")
                    .is_some_and(|a| !a.contains('/') && self.names_us(a, local))
            });
            if !ok {
                return Err(forbidden(format!(
                    "cross-origin request refused (Origin '{}')",
                    crate::logs::Escaped(origin.unwrap_or("?"))
                )));
            }
        }
        if let Some(site) = header_text(headers, "sec-fetch-site")
            && matches!(site, Ok("cross-site" | "same-site"))
        {
            return Err(forbidden(
                "cross-site request refused (Sec-Fetch-Site)".into(),
            ));
        }
        let write = Guard::is_write(method);
        if write || !self.loopback {
            self.check_token(headers)?;
        }
        if write && !headers.contains_key(CLIENT_HEADER) {
            let media = header_text(headers, CONTENT_TYPE)
                .and_then(Result::ok)
                .map(|t| {
                    t.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase()
                });
            if !media
                .as_deref()
                .is_some_and(|m| WRITE_CONTENT_TYPES.contains(&m))
            {
                return Err(Failure::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "a write needs Content-Type {} or an {CLIENT_HEADER} header (got {})",
                        WRITE_CONTENT_TYPES.join(", "),
                        media.map_or("none".into(), |m| format!("'{}'", crate::logs::Escaped(&m)))
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_token(&self, headers: &HeaderMap) -> Result<(), Failure> {
        let given = headers.get(AUTHORIZATION).map(|v| v.as_bytes());
        let token = given.and_then(|v| {
            let (scheme, rest) = v.split_at_checked(7)?;
            scheme
                .eq_ignore_ascii_case(b"bearer ")
                .then(|| rest.trim_ascii())
        });
        match token {
            Some(t) if self.token.matches(t) => Ok(()),
            Some(_) => Err(Failure::unauthorized(format!(
                "wrong API token ({})",
                self.token_hint
            ))),
            None => Err(Failure::unauthorized(format!(
                "this request needs the API token: Authorization: Bearer TOKEN ({})",
                self.token_hint
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(bound: &str) -> (Guard, ApiToken) {
        let t = ApiToken::generate().unwrap();
        (
            Guard::new(
                t.clone(),
                bound.parse().unwrap(),
                &["okmesh.local".into()],
                "hint".into(),
            ),
            t,
        )
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn authorities_split() {
        assert_eq!(
            split_authority("127.0.0.1:80"),
            Some(("127.0.0.1", Some(80)))
        );
        assert_eq!(split_authority("[::1]:8080"), Some(("::1", Some(8080))));
        assert_eq!(split_authority("[::1]"), Some(("::1", None)));
        assert_eq!(split_authority("localhost"), Some(("localhost", None)));
        for bad in ["", ":80", "::1", "a:b", "[::1]x", "a:99999", "a:"] {
            assert_eq!(split_authority(bad), None, "{bad}");
        }
    }

    #[test]
    fn hosts_and_origins_must_name_this_server() {
        let (g, t) = guard("127.0.0.1:8080");
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let auth = format!("Bearer {}", t.reveal());
        for host in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "okmesh.local:8080",
        ] {
            assert!(
                g.check(&Method::GET, &headers(&[("host", host)]), local)
                    .is_ok(),
                "{host}"
            );
        }
        for host in [
            "evil.example:8080",
            "127.0.0.1:8081",
            "127.0.0.1",
            "10.0.0.1:8080",
            "a b",
        ] {
            let e = g
                .check(&Method::GET, &headers(&[("host", host)]), local)
                .unwrap_err();
            assert_eq!(e.status, StatusCode::FORBIDDEN, "{host}");
        }
        assert_eq!(
            g.check(&Method::GET, &HeaderMap::new(), local)
                .unwrap_err()
                .status,
            StatusCode::BAD_REQUEST
        );
        let h = |origin: &str| {
            headers(&[
                ("host", "127.0.0.1:8080"),
                ("origin", origin),
                ("authorization", &auth),
                ("content-type", "application/json"),
            ])
        };
        assert!(
            g.check(&Method::POST, &h("http://127.0.0.1:8080"), local)
                .is_ok()
        );
        assert!(
            g.check(&Method::POST, &h("http://localhost:8080"), local)
                .is_ok()
        );
        for origin in [
            "http://evil.example",
            "null",
            "https://127.0.0.1:8080",
            "http://127.0.0.1:8080/x",
            "http://localhost:3000",
        ] {
            let e = g.check(&Method::POST, &h(origin), local).unwrap_err();
            assert_eq!(e.status, StatusCode::FORBIDDEN, "{origin}");
        }
        let cross = headers(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "cross-site")]);
        assert_eq!(
            g.check(&Method::GET, &cross, local).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn writes_need_the_token_and_a_program_body_type() {
        let (g, t) = guard("127.0.0.1:8080");
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let auth = format!("Bearer {}", t.reveal());
        let host = ("host", "127.0.0.1:8080");
        let ok = |h: &[(&'static str, &str)]| {
            g.check(&Method::POST, &headers(h), local)
                .map_err(|e| e.status)
        };
        assert_eq!(
            ok(&[host, ("content-type", "application/json")]),
            Err(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            ok(&[
                host,
                ("authorization", "Bearer nope"),
                ("content-type", "application/json")
            ]),
            Err(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            ok(&[
                host,
                ("authorization", t.reveal()),
                ("content-type", "application/json")
            ]),
            Err(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            ok(&[host, ("authorization", &auth)]),
            Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        for ty in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            assert_eq!(
                ok(&[host, ("authorization", &auth), ("content-type", ty)]),
                Err(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                "{ty}"
            );
        }
        assert_eq!(
            ok(&[
                host,
                ("authorization", &auth),
                ("content-type", "application/toml; charset=utf-8")
            ]),
            Ok(())
        );
        assert_eq!(
            ok(&[
                host,
                ("authorization", &format!("bearer  {}", t.reveal())),
                (CLIENT_HEADER, "curl")
            ]),
            Ok(())
        );
        // Reads on loopback need no token; a DELETE is a write.
        assert!(g.check(&Method::GET, &headers(&[host]), local).is_ok());
        assert_eq!(
            g.check(&Method::DELETE, &headers(&[host]), local)
                .unwrap_err()
                .status,
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn beyond_loopback_every_request_needs_the_token() {
        let (g, t) = guard("0.0.0.0:8080");
        let local: SocketAddr = "192.168.1.20:8080".parse().unwrap();
        let host = ("host", "192.168.1.20:8080");
        let e = g.check(&Method::GET, &headers(&[host]), local).unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        let auth = format!("Bearer {}", t.reveal());
        assert!(
            g.check(
                &Method::GET,
                &headers(&[host, ("authorization", &auth)]),
                local
            )
            .is_ok()
        );
    }
}
