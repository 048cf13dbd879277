//! `jwtd healthcheck`: GET /readyz with nothing but the standard library, so that a
//! container image needs no curl.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::CliResult;
use crate::config::Settings;

pub fn check(url: Option<&str>, settings: &Settings) -> CliResult {
    let (host, port, path) = match url {
        Some(url) => {
            parse_url(url).ok_or_else(|| format!("cannot use {url:?}: give http://HOST:PORT/PATH"))?
        }
        None => {
            let (host, port) = settings
                .server
                .bind
                .rsplit_once(':')
                .ok_or("bind is not HOST:PORT")?;
            // A wildcard bind is reached on loopback.
            let host = match host.trim_matches(['[', ']']) {
                "0.0.0.0" | "" => "127.0.0.1".to_string(),
                "::" => "::1".to_string(),
                other => other.to_string(),
            };
            (
                host,
                port.parse().map_err(|_| "bind has no port")?,
                "/readyz".to_string(),
            )
        }
    };
    let addr: SocketAddr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {host}"))?;
    let timeout = Duration::from_secs(3);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    let status = answer.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") {
        println!("ready");
        Ok(())
    } else {
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        Err(format!("not ready: {status} {body}").trim().to_string())
    }
}

fn parse_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/readyz".to_string()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
            (h.trim_matches(['[', ']']), p.parse().ok()?)
        }
        _ => (authority, 80),
    };
    Some((host.to_string(), port, path))
}
