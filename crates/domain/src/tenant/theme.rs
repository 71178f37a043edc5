use super::Tenant;

/// A tenant's colours and logo with every gap filled, as front ends and web manifests need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub name: String,
    pub primary_color: String,
    pub secondary_color: String,
    pub background_color: String,
    pub text_color: String,
    pub logo_url: Option<String>,
}

impl Theme {
    pub const DEFAULT_PRIMARY: &'static str = "#2563eb";
    pub const DEFAULT_SECONDARY: &'static str = "#0f172a";
    pub const DEFAULT_BACKGROUND: &'static str = "#ffffff";
    pub const DEFAULT_TEXT: &'static str = "#111827";

    pub fn of(tenant: &Tenant) -> Self {
        let branding = &tenant.branding;
        let or = |value: &Option<String>, fallback: &str| {
            value.clone().unwrap_or_else(|| fallback.to_owned())
        };
        Self {
            name: tenant.name.clone(),
            primary_color: or(&branding.primary_color, Self::DEFAULT_PRIMARY),
            secondary_color: or(&branding.secondary_color, Self::DEFAULT_SECONDARY),
            background_color: or(&branding.background_color, Self::DEFAULT_BACKGROUND),
            text_color: or(&branding.text_color, Self::DEFAULT_TEXT),
            logo_url: branding.logo_url.clone(),
        }
    }
}
