CREATE TABLE tenants (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    vertical TEXT NOT NULL DEFAULT 'other'
        CHECK (vertical IN ('car_wash', 'cafe', 'restaurant', 'salon', 'fitness', 'padel', 'retail', 'other')),
    loyalty_type TEXT NOT NULL DEFAULT 'hybrid'
        CHECK (loyalty_type IN ('stamps', 'points', 'hybrid')),
    primary_domain TEXT,
    subdomain TEXT,
    features TEXT NOT NULL DEFAULT '{}',
    branding TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE UNIQUE INDEX tenants_primary_domain_key ON tenants (primary_domain);
CREATE UNIQUE INDEX tenants_subdomain_key ON tenants (subdomain);
