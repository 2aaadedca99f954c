//! `mon_host` in every form Ceph accepts:
//!
//! - address vectors: `[v2:10.0.0.1:3300,v1:10.0.0.1:6789]`
//! - typed addresses: `v2:10.0.0.1:3300`, `v1:10.0.0.1`
//! - plain hosts and ports: `10.0.0.1`, `10.0.0.1:6789`, `mon1.example.com`,
//!   `[::1]:3300`, `::1`
//! - lists of the above, separated by commas, spaces or semicolons.
//!
//! An untyped address is resolved as the monitor does: port 6789 means v1,
//! 3300 means v2, no port means both defaults, another port is tried as v2
//! and as v1.

/// The IANA port of msgr2 monitors.
pub const MON_PORT_V2: u16 = 3300;
/// The legacy (msgr1) monitor port.
pub const MON_PORT_V1: u16 = 6789;

/// The messenger protocol an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// msgr1 (legacy).
    V1,
    /// msgr2.
    V2,
}

/// One endpoint of a monitor: protocol, host (an IP literal or a DNS name
/// still to be resolved) and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MonEndpoint {
    /// msgr1 or msgr2.
    pub protocol: Protocol,
    /// IP literal (IPv6 without brackets) or host name.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl std::fmt::Display for MonEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = match self.protocol {
            Protocol::V1 => "v1",
            Protocol::V2 => "v2",
        };
        if self.host.contains(':') {
            write!(f, "{p}:[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{p}:{}:{}", self.host, self.port)
        }
    }
}

/// The endpoints of one monitor.
pub type MonAddrs = Vec<MonEndpoint>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Any,
    V1,
    V2,
}

/// Splits `s` into top-level items: separators outside brackets.
fn split_items(s: &str) -> Result<Vec<&str>, String> {
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut start = None;
    for (i, c) in s.char_indices() {
        match c {
            '[' => {
                depth += 1;
                start.get_or_insert(i);
            }
            ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced ']' in {s:?}"));
                }
            }
            ',' | ' ' | ';' | '\t' if depth == 0 => {
                if let Some(st) = start.take() {
                    items.push(&s[st..i]);
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced '[' in {s:?}"));
    }
    if let Some(st) = start {
        items.push(&s[st..]);
    }
    Ok(items)
}

/// Parses one address: `[v1:|v2:|any:]host[:port][/nonce]`.
fn parse_addr(s: &str) -> Result<(Kind, String, u16), String> {
    let (kind, rest) = if let Some(r) = s.strip_prefix("v2:") {
        (Kind::V2, r)
    } else if let Some(r) = s.strip_prefix("v1:") {
        (Kind::V1, r)
    } else if let Some(r) = s.strip_prefix("any:") {
        (Kind::Any, r)
    } else {
        (Kind::Any, s)
    };
    // drop a trailing /nonce
    let rest = match rest.rfind('/') {
        Some(i) if rest[i + 1..].chars().all(|c| c.is_ascii_digit()) => &rest[..i],
        _ => rest,
    };
    let (host, port) = if let Some(r) = rest.strip_prefix('[') {
        let end = r
            .find(']')
            .ok_or_else(|| format!("unterminated IPv6 address in {s:?}"))?;
        let host = &r[..end];
        let after = &r[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected {after:?} after the address in {s:?}")),
        };
        (host, port)
    } else if rest.matches(':').count() > 1 {
        // a bare IPv6 address, no port
        (rest, None)
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in {s:?}"));
    }
    if host.contains(':') && host.parse::<std::net::Ipv6Addr>().is_err() {
        return Err(format!("bad IPv6 address {host:?}"));
    }
    if !host.contains(':')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    {
        return Err(format!("bad host name {host:?}"));
    }
    let port = match port {
        None => 0,
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("bad port {p:?} in {s:?}"))?,
    };
    Ok((kind, host.to_string(), port))
}

/// Applies Ceph's defaults to one parsed address.
fn resolve_kind(kind: Kind, host: String, port: u16) -> Vec<MonEndpoint> {
    let ep = |protocol, port| MonEndpoint {
        protocol,
        host: host.clone(),
        port,
    };
    match (kind, port) {
        (Kind::V2, 0) => vec![ep(Protocol::V2, MON_PORT_V2)],
        (Kind::V1, 0) => vec![ep(Protocol::V1, MON_PORT_V1)],
        (Kind::V2, p) => vec![ep(Protocol::V2, p)],
        (Kind::V1, p) => vec![ep(Protocol::V1, p)],
        (Kind::Any, 0) => vec![ep(Protocol::V2, MON_PORT_V2), ep(Protocol::V1, MON_PORT_V1)],
        (Kind::Any, MON_PORT_V1) => vec![ep(Protocol::V1, MON_PORT_V1)],
        (Kind::Any, MON_PORT_V2) => vec![ep(Protocol::V2, MON_PORT_V2)],
        (Kind::Any, p) => vec![ep(Protocol::V2, p), ep(Protocol::V1, p)],
    }
}

/// Parses a `mon_host` value into the monitors it names.
pub fn parse_mon_host(value: &str) -> Result<Vec<MonAddrs>, String> {
    let mut mons = Vec::new();
    for item in split_items(value)? {
        let is_vec = ["[v1:", "[v2:", "[any:"]
            .iter()
            .any(|p| item.starts_with(p));
        if is_vec {
            let inner = item
                .strip_prefix('[')
                .and_then(|i| i.strip_suffix(']'))
                .ok_or_else(|| format!("bad address vector {item:?}"))?;
            let mut addrs = Vec::new();
            for a in split_items(inner)? {
                let (kind, host, port) = parse_addr(a)?;
                addrs.extend(resolve_kind(kind, host, port));
            }
            mons.push(addrs);
        } else {
            let (kind, host, port) = parse_addr(item)?;
            mons.push(resolve_kind(kind, host, port));
        }
    }
    if mons.is_empty() {
        return Err("mon_host is empty".into());
    }
    Ok(mons)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eps(v: &str) -> Vec<Vec<String>> {
        parse_mon_host(v)
            .unwrap()
            .iter()
            .map(|m| m.iter().map(ToString::to_string).collect())
            .collect()
    }

    #[test]
    fn every_form_parses() {
        assert_eq!(
            eps("[v2:127.0.0.1:3300,v1:127.0.0.1:6789]"),
            [["v2:127.0.0.1:3300", "v1:127.0.0.1:6789"]]
        );
        assert_eq!(eps("10.0.0.1"), [["v2:10.0.0.1:3300", "v1:10.0.0.1:6789"]]);
        assert_eq!(eps("10.0.0.1:6789"), [["v1:10.0.0.1:6789"]]);
        assert_eq!(eps("10.0.0.1:3300"), [["v2:10.0.0.1:3300"]]);
        assert_eq!(
            eps("10.0.0.1:7000"),
            [["v2:10.0.0.1:7000", "v1:10.0.0.1:7000"]]
        );
        assert_eq!(eps("v2:10.0.0.1"), [["v2:10.0.0.1:3300"]]);
        assert_eq!(eps("v2:10.0.0.1:3300/0"), [["v2:10.0.0.1:3300"]]);
        assert_eq!(eps("[::1]:3300"), [["v2:[::1]:3300"]]);
        assert_eq!(eps("::1"), [["v2:[::1]:3300", "v1:[::1]:6789"]]);
        assert_eq!(
            eps("[v2:[::1]:3300,v1:[::1]:6789]"),
            [["v2:[::1]:3300", "v1:[::1]:6789"]]
        );
        assert_eq!(
            eps("mon-a.example.com, mon-b.example.com:6789;10.0.0.3"),
            [
                vec!["v2:mon-a.example.com:3300", "v1:mon-a.example.com:6789"],
                vec!["v1:mon-b.example.com:6789"],
                vec!["v2:10.0.0.3:3300", "v1:10.0.0.3:6789"]
            ]
        );
        assert_eq!(
            eps("[v2:1.1.1.1:3300,v1:1.1.1.1:6789] [v2:1.1.1.2:3300,v1:1.1.1.2:6789]").len(),
            2
        );
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            "",
            "[v2:1.1.1.1:3300",
            "1.1.1.1:http",
            "[::1",
            "v2:[zz::1]:3300",
            "a b]",
            "h@st",
        ] {
            assert!(parse_mon_host(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
