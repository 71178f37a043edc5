//! Host name resolution for webhooks: the system's resolver, with forbidden addresses dropped.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use loyalty_domain::webhooks::{DestinationPolicy, HostResolver, ResolveError};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Looks host names up with the operating system's resolver (blocking: call it off the async
/// runtime, as the use cases run).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn resolve(&self, host: &str, port: u16) -> Result<Vec<IpAddr>, ResolveError> {
        let addresses = (host, port)
            .to_socket_addrs()
            .map_err(|error| ResolveError(Box::new(error)))?;
        Ok(addresses.map(|address| address.ip()).collect())
    }
}

/// No address of the host is allowed.
#[derive(Debug, thiserror::Error)]
#[error(
    "{host} resolves to no address a webhook may be sent to (loopback, private and link-local are refused)"
)]
pub struct NoAllowedAddress {
    host: String,
}

/// The resolver deliveries connect through: the system's answers, less the addresses `policy`
/// forbids; a host left with none fails to connect.
#[derive(Debug, Clone, Copy)]
pub struct AllowedAddresses {
    pub policy: DestinationPolicy,
}

impl Resolve for AllowedAddresses {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found
                .filter(|address| policy.allows(address.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(NoAllowedAddress { host }.into());
            }
            let addresses: Addrs = Box::new(allowed.into_iter());
            Ok(addresses)
        })
    }
}
