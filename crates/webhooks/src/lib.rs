//! Sending webhook deliveries: the outbound HTTP adapter of the domain's delivery use cases.
//!
//! A delivery goes out as a `POST` with the Standard Webhooks headers, with a time limit, never
//! following a redirect and never through a proxy, and reads at most a few KB of the answer.
//! Host names are resolved by [`AllowedAddresses`], which drops every address the destination
//! policy forbids before a connection is made, so a name that passed when the endpoint was saved
//! cannot be pointed at a private address later (DNS rebinding).

mod resolver;
mod sender;

pub use resolver::{AllowedAddresses, SystemResolver};
pub use sender::{SenderError, WebhookSender};
