//! Tenants: the businesses that run a loyalty program here.

mod admin;
mod directory;
mod host;
mod id;
mod model;
mod resolution;
mod seeding;
mod theme;

pub use admin::{NewTenant, TenantChanges, normalize_domain, normalize_subdomain};
pub use directory::TenantDirectory;
pub use host::HostCandidates;
pub use id::{TenantId, TenantIdError};
pub use model::{Branding, LoyaltyType, Tenant, Vertical};
pub use resolution::{
    ResolveError, TenantSelector, cached_tenant, resolve_and_cache, resolve_tenant,
};
pub use seeding::{SeedOutcome, default_tenant, ensure_default_tenant};
pub use theme::Theme;
