//! Where a webhook may point. In production an endpoint must be `https` and reach only public
//! addresses: a tenant admin must not be able to make the service call into its own network
//! (loopback, private ranges, link-local cloud metadata). Development and staging allow `http`
//! and any address, so a receiver on the developer's machine works.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Longest URL an endpoint may have.
pub const MAX_URL_CHARS: usize = 2048;

/// Which destinations endpoints may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationPolicy {
    /// `https` only, to public addresses only (production).
    PublicHttps,
    /// `http` or `https`, to any address (local development and staging).
    Anywhere,
}

impl DestinationPolicy {
    /// Whether a delivery may connect to `address`.
    pub fn allows(self, address: IpAddr) -> bool {
        match self {
            Self::Anywhere => true,
            Self::PublicHttps => is_public(address),
        }
    }

    /// Checks the text of an endpoint's URL: well-formed, absolute `http(s)`, no credentials or
    /// fragment, and under this policy's rules for its scheme and (when written as an address)
    /// its host. A host name is checked when it is resolved ([`HostResolver`]).
    pub fn check_url(self, text: &str) -> Result<WebhookUrl, String> {
        let text = text.trim();
        if text.chars().count() > MAX_URL_CHARS {
            return Err(format!("must be at most {MAX_URL_CHARS} characters"));
        }
        let url = Url::parse(text).map_err(|error| format!("is not a URL ({error})"))?;
        match (url.scheme(), self) {
            ("https", _) | ("http", Self::Anywhere) => {}
            ("http", Self::PublicHttps) => return Err("must use https".into()),
            _ => return Err("must be an http or https URL".into()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not hold a user name or password".into());
        }
        if url.fragment().is_some() {
            return Err("must not have a fragment (#...)".into());
        }
        let address = match url.host() {
            None => return Err("must name a host".into()),
            Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(Host::Domain(_)) => None,
        };
        if address.is_some_and(|address| !self.allows(address)) {
            return Err(NOT_PUBLIC.into());
        }
        Ok(WebhookUrl(url))
    }
}

/// Why a destination is refused when it resolves to a forbidden address.
pub const NOT_PUBLIC: &str = "must not point to a loopback, private or link-local address";

/// An endpoint's URL, checked under a [`DestinationPolicy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    /// A URL as the store holds it: it was checked when it was saved, and is checked again
    /// before each delivery.
    pub fn from_stored(stored: &str) -> Result<Self, url::ParseError> {
        Url::parse(stored).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Scheme, host and port: the URL without the path and query, which may hold a token.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// The host name to resolve, when the URL names one rather than an address.
    pub fn domain(&self) -> Option<&str> {
        self.0.domain()
    }

    /// The port a delivery connects to.
    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(443)
    }
}

/// Port: looks a host name up in DNS.
pub trait HostResolver: Send + Sync + std::fmt::Debug {
    fn resolve(&self, host: &str, port: u16) -> Result<Vec<IpAddr>, ResolveError>;
}

/// A host name could not be looked up.
#[derive(Debug, thiserror::Error)]
#[error("the host name could not be resolved")]
pub struct ResolveError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Resolves nothing: the default until an adapter is wired in, so an unwired service refuses
/// every host name rather than trusting it.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoResolver;

impl HostResolver for NoResolver {
    fn resolve(&self, _host: &str, _port: u16) -> Result<Vec<IpAddr>, ResolveError> {
        Err(ResolveError("no resolver is configured".into()))
    }
}

/// Whether an address is reachable on the public internet: not loopback, private, link-local,
/// carrier-grade NAT, unspecified, broadcast, multicast, benchmarking or documentation space,
/// also when an IPv4 address is written as, or carried in, an IPv6 address.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    let shared = a == 100 && (64..128).contains(&b);
    let this_network = a == 0;
    let reserved = a >= 240;
    let protocol_assignments = a == 192 && b == 0 && c == 0;
    let benchmarking = a == 198 && (b == 18 || b == 19);
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || shared
        || this_network
        || reserved
        || protocol_assignments
        || benchmarking)
}

fn is_public_v6(v6: Ipv6Addr) -> bool {
    let segments = v6.segments();
    // Forms that carry an IPv4 address the network may translate to: the public check is the
    // IPv4 address's. NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed it; the deprecated
    // IPv4-compatible ::a.b.c.d is it.
    let embedded = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return is_public_v4(embedded(segments[1], segments[2]));
    }
    if segments[..6].iter().all(|s| *s == 0) && !v6.is_loopback() && !v6.is_unspecified() {
        return is_public_v4(embedded(segments[6], segments[7]));
    }
    let documentation = segments[0] == 0x2001 && segments[1] == 0x0db8;
    // Teredo tunnels to an address it does not show; NAT64's local-use prefix and the old
    // site-local range are private by design.
    let teredo = segments[0] == 0x2001 && segments[1] == 0;
    let local_nat64 = segments[0] == 0x64 && segments[1] == 0xff9b && segments[2] == 1;
    let site_local = segments[0] & 0xffc0 == 0xfec0;
    !(v6.is_loopback()
        || v6.is_unspecified()
        || v6.is_multicast()
        || v6.is_unique_local()
        || v6.is_unicast_link_local()
        || documentation
        || teredo
        || local_nat64
        || site_local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:c0a8:0101::1",
            "2001:0:4136:e378::1",
            "fec0::1",
            "192.0.0.8",
            "198.18.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn production_takes_only_https_to_public_hosts() {
        let strict = DestinationPolicy::PublicHttps;
        assert!(
            strict
                .check_url("https://hooks.example.com/loyalty")
                .is_ok()
        );
        assert!(strict.check_url("https://93.184.216.34/x").is_ok());
        for refused in [
            "http://hooks.example.com/",
            "https://127.0.0.1/",
            "https://[::1]:8443/",
            "https://169.254.169.254/latest/meta-data",
            "https://user:pw@hooks.example.com/",
            "https://hooks.example.com/#x",
            "ftp://hooks.example.com/",
            "not a url",
            "/relative",
        ] {
            assert!(strict.check_url(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn development_allows_http_and_loopback() {
        let open = DestinationPolicy::Anywhere;
        let url = open
            .check_url("http://127.0.0.1:9000/hook?token=s3cret")
            .unwrap();
        assert_eq!((url.domain(), url.port()), (None, 9000));
        assert_eq!(url.origin(), "http://127.0.0.1:9000");
        assert!(open.check_url("http://localhost/hook").is_ok());
        assert!(open.check_url("mailto:a@b.c").is_err());
    }
}
