use std::net::IpAddr;

/// The names a request's host may match a tenant by, most specific first.
///
/// The host is lowercased and loses its port, a trailing dot and a leading `www.`; a leading
/// `api.` is also tried without it, so `api.acme.com` finds the tenant of `acme.com`. Each
/// candidate's first label is a subdomain candidate when the host is a name with a dot in it
/// (never an IP address).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostCandidates {
    domains: Vec<String>,
    subdomains: Vec<String>,
}

impl HostCandidates {
    pub fn from_host(raw: &str) -> Self {
        let host = normalize(raw);
        if host.is_empty() {
            return Self::default();
        }
        let mut domains = vec![host.clone()];
        if let Some(rest) = host.strip_prefix("api.").filter(|rest| !rest.is_empty()) {
            domains.push(rest.to_owned());
        }
        let is_ip = host.parse::<IpAddr>().is_ok();
        let mut subdomains: Vec<String> = Vec::new();
        for domain in domains.iter().filter(|_| !is_ip) {
            if let Some((label, _)) = domain.split_once('.')
                && !label.is_empty()
                && !subdomains.iter().any(|known| known == label)
            {
                subdomains.push(label.to_owned());
            }
        }
        Self {
            domains,
            subdomains,
        }
    }

    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    pub fn subdomains(&self) -> &[String] {
        &self.subdomains
    }

    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }
}

fn normalize(raw: &str) -> String {
    let host = raw.trim().to_ascii_lowercase();
    let without_port = if let Some(bracketed) = host.strip_prefix('[') {
        // An IPv6 literal such as `[::1]:8080`.
        bracketed.split(']').next().unwrap_or_default().to_owned()
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name.to_owned(),
            _ => host,
        }
    };
    let without_www = without_port.strip_prefix("www.").unwrap_or(&without_port);
    without_www.trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, domains: &[&str], subdomains: &[&str]) {
        let c = HostCandidates::from_host(raw);
        assert_eq!(c.domains(), domains, "domains of {raw}");
        assert_eq!(c.subdomains(), subdomains, "subdomains of {raw}");
    }

    #[test]
    fn lowercases_and_strips_port_www_and_trailing_dot() {
        check(
            "WWW.Acme-Wash.COM.:8443",
            &["acme-wash.com"],
            &["acme-wash"],
        );
        check("www.acme.com.", &["acme.com"], &["acme"]);
    }

    #[test]
    fn tries_api_prefix_with_and_without() {
        check(
            "api.acme.example.app",
            &["api.acme.example.app", "acme.example.app"],
            &["api", "acme"],
        );
    }

    #[test]
    fn single_labels_and_ip_addresses_have_no_subdomain() {
        check("localhost:8080", &["localhost"], &[]);
        check("127.0.0.1:8080", &["127.0.0.1"], &[]);
        check("[::1]:8080", &["::1"], &[]);
    }

    #[test]
    fn empty_host_has_no_candidates() {
        assert!(HostCandidates::from_host("  ").is_empty());
        assert!(HostCandidates::from_host("www.").is_empty());
    }
}
