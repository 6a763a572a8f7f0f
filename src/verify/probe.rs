//! `verify --probe`: once the service is RUNNING, ask it over the network whether it
//! answers: `http://HOST:PORT/PATH` expects an HTTP response (`--probe-status` a given
//! code), `tcp:HOST:PORT` a connection. Retried until the timeout, since a service may
//! take a moment to listen after it reports RUNNING.
//!
//! The probe runs where the steps run: under Wine inside the sandbox, whose loopback
//! is the one Wine's programs listen on (the sandbox has no other network); on a
//! Windows host on that host.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{CheckResult, Failed};

/// What to ask the running service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Probe {
    /// `GET path` on `host:port`; any HTTP response answers, unless a status is asked.
    Http {
        /// As the user wrote it.
        url: String,
        /// `host:port` (port 80 when the URL names none).
        authority: String,
        path: String,
    },
    /// A TCP connection to `host:port`.
    Tcp { addr: String },
}

/// Why a `--probe` value is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error(
        "`{0}`: verify probes plain HTTP only: probe the service's plain-HTTP port, or `tcp:HOST:PORT` for a connection"
    )]
    Https(String),
    #[error("`{0}`: write http://HOST:PORT/PATH, tcp:HOST:PORT or HOST:PORT")]
    Form(String),
    #[error("`{0}`: the port must be a number from 1 to 65535")]
    Port(String),
    #[error("`{0}`: a URL's path cannot hold spaces or control characters")]
    Path(String),
}

impl FromStr for Probe {
    type Err = ProbeError;

    fn from_str(s: &str) -> Result<Probe, ProbeError> {
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("https://") {
            return Err(ProbeError::Https(s.into()));
        }
        if lower.starts_with("http://") {
            let rest = &s["http://".len()..];
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(ProbeError::Path(s.into()));
            }
            let authority = host_port(s, authority, Some(80))?;
            return Ok(Probe::Http {
                url: s.into(),
                authority,
                path: path.into(),
            });
        }
        let addr = lower
            .strip_prefix("tcp:")
            .map(|_| &s["tcp:".len()..])
            .unwrap_or(s);
        Ok(Probe::Tcp {
            addr: host_port(s, addr, None)?,
        })
    }
}

/// `host:port` checked (`[v6]:port` too), with `default` for a missing port.
fn host_port(whole: &str, text: &str, default: Option<u16>) -> Result<String, ProbeError> {
    let (host, port) = match text.rfind(':') {
        Some(i) if !text[i..].contains(']') => (&text[..i], Some(&text[i + 1..])),
        _ => (text, None),
    };
    if host.is_empty()
        || host
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c == '@')
    {
        return Err(ProbeError::Form(whole.into()));
    }
    let port = match (port, default) {
        (Some(p), _) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| ProbeError::Port(whole.into()))?,
        (None, Some(d)) => d,
        (None, None) => return Err(ProbeError::Form(whole.into())),
    };
    Ok(format!("{host}:{port}"))
}

impl Probe {
    /// The probe as the step names it.
    pub fn shown(&self) -> String {
        match self {
            Probe::Http { url, .. } => url.clone(),
            Probe::Tcp { addr } => format!("tcp:{addr}"),
        }
    }

    /// Ask until it answers as wanted or `timeout` passes: what it answered, or why not.
    pub fn check(&self, status: Option<u16>, timeout: Duration) -> CheckResult {
        let start = Instant::now();
        loop {
            let last = self.once(status);
            let waited = start.elapsed();
            match last {
                Ok(seen) => return Ok(format!("{seen} after {:.1} s", waited.as_secs_f64())),
                Err(Failed(why)) if waited >= timeout => {
                    return Err(Failed(format!(
                        "{}: {why} (asked for {} s)",
                        self.shown(),
                        timeout.as_secs()
                    )));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }

    /// One attempt.
    fn once(&self, status: Option<u16>) -> CheckResult {
        match self {
            Probe::Tcp { addr } => {
                connect(addr)?;
                Ok(format!("tcp:{addr} accepted a connection"))
            }
            Probe::Http {
                url,
                authority,
                path,
            } => {
                let line = http_status_line(authority, path)?;
                let code = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse::<u16>().ok());
                match (status, code) {
                    (_, None) => Err(Failed(format!(
                        "answered `{line}`, not an HTTP status line"
                    ))),
                    (Some(want), Some(got)) if want != got => {
                        Err(Failed(format!("answered `{line}`, expected status {want}")))
                    }
                    _ => Ok(format!("{url} answered `{line}`")),
                }
            }
        }
    }
}

/// A connection to `addr` (each address it resolves to, in turn).
fn connect(addr: &str) -> Result<TcpStream, Failed> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| Failed(format!("cannot resolve {addr}: {e}")))?
        .collect();
    let mut last = format!("{addr} resolves to no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(2)) {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("cannot connect to {a}: {e}"),
        }
    }
    Err(Failed(last))
}

/// `GET path` over HTTP/1.0; the response's first line.
fn http_status_line(authority: &str, path: &str) -> Result<String, Failed> {
    let mut s = connect(authority)?;
    let io = |e: std::io::Error| Failed(format!("{authority}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(io)?;
    s.set_write_timeout(Some(Duration::from_secs(5)))
        .map_err(io)?;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: cargo-winpkg-verify\r\nConnection: close\r\n\r\n"
    );
    s.write_all(request.as_bytes()).map_err(io)?;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.contains(&b'\n') && got.len() < 8192 {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return Err(io(e)),
        }
    }
    let text = String::from_utf8_lossy(&got);
    let line = text.lines().next().unwrap_or_default().trim().to_string();
    if line.is_empty() {
        return Err(Failed(format!(
            "{authority} closed the connection without an answer"
        )));
    }
    Ok(line.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_read_as_written_and_bad_ones_refused() {
        let http = |s: &str| s.parse::<Probe>();
        assert_eq!(
            http("http://127.0.0.1:8787/health?x=1"),
            Ok(Probe::Http {
                url: "http://127.0.0.1:8787/health?x=1".into(),
                authority: "127.0.0.1:8787".into(),
                path: "/health?x=1".into()
            })
        );
        assert_eq!(
            http("HTTP://localhost"),
            Ok(Probe::Http {
                url: "HTTP://localhost".into(),
                authority: "localhost:80".into(),
                path: "/".into()
            })
        );
        assert_eq!(
            http("tcp:[::1]:5432"),
            Ok(Probe::Tcp {
                addr: "[::1]:5432".into()
            })
        );
        assert_eq!(
            http("127.0.0.1:5432"),
            Ok(Probe::Tcp {
                addr: "127.0.0.1:5432".into()
            })
        );
        assert!(matches!(http("https://x:1/"), Err(ProbeError::Https(_))));
        assert!(matches!(http("tcp:127.0.0.1"), Err(ProbeError::Form(_))));
        assert!(matches!(http("tcp:127.0.0.1:0"), Err(ProbeError::Port(_))));
        assert!(matches!(http("tcp:h:99999"), Err(ProbeError::Port(_))));
        assert!(matches!(
            http("http://h:1/a b\r\nX: y"),
            Err(ProbeError::Path(_))
        ));
        assert!(matches!(http("http://:80/"), Err(ProbeError::Form(_))));
    }

    /// A real listener on this machine: a status line read back, a wrong status
    /// refused with the line it got, a closed port refused.
    #[test]
    fn a_real_server_answers_and_a_closed_port_does_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for _ in 0..3 {
                let (mut c, _) = listener.accept().unwrap();
                let mut buf = [0u8; 512];
                let n = c.read(&mut buf).unwrap();
                let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                let reply = if req.starts_with("GET /missing ") {
                    "HTTP/1.1 404 Not Found\r\n\r\n"
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                };
                c.write_all(reply.as_bytes()).unwrap();
            }
        });
        let p: Probe = format!("http://127.0.0.1:{port}/").parse().unwrap();
        let ok = p.check(Some(200), Duration::from_secs(5)).unwrap();
        assert!(ok.contains("answered `HTTP/1.1 200 OK`"), "{ok}");
        let p: Probe = format!("http://127.0.0.1:{port}/missing").parse().unwrap();
        let Failed(why) = p.check(Some(200), Duration::ZERO).unwrap_err();
        assert!(
            why.contains("answered `HTTP/1.1 404 Not Found`, expected status 200"),
            "{why}"
        );
        let p: Probe = format!("tcp:127.0.0.1:{port}").parse().unwrap();
        assert!(p.check(None, Duration::from_secs(5)).is_ok());
        server.join().unwrap();
        let closed: Probe = format!("tcp:127.0.0.1:{port}").parse().unwrap();
        let Failed(why) = closed.check(None, Duration::ZERO).unwrap_err();
        assert!(why.contains("cannot connect"), "{why}");
    }
}
