//! The one schema both backends share: portable types only (see docs/architecture.md).

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        vertical -> Text,
        loyalty_type -> Text,
        primary_domain -> Nullable<Text>,
        subdomain -> Nullable<Text>,
        /// JSON object of feature flags.
        features -> Text,
        /// JSON object of branding fields.
        branding -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
