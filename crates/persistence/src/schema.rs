//! The one schema both backends share: portable types only (see docs/architecture.md).

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        vertical -> Text,
        loyalty_type -> Text,
        country -> Text,
        currency -> Text,
        time_zone -> Text,
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

diesel::table! {
    api_keys (id) {
        id -> Text,
        tenant_id -> Nullable<Text>,
        role -> Text,
        label -> Nullable<Text>,
        prefix -> Text,
        secret_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    programs (tenant_id) {
        tenant_id -> Text,
        visits_per_reward -> BigInt,
        points_per_visit -> BigInt,
        spend_points -> BigInt,
        spend_per_amount_minor -> BigInt,
        min_purchase_minor -> BigInt,
        min_minutes_between_visits -> BigInt,
        updated_at -> Timestamp,
        milestone_reward_id -> Nullable<Text>,
        refund_expired_vouchers -> Bool,
        /// JSON array of tiers, lowest first.
        tiers -> Text,
        points_expire_after_days -> Nullable<BigInt>,
        max_purchase_minor -> BigInt,
    }
}

diesel::table! {
    customers (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        name -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        external_id -> Nullable<Text>,
        card_token -> Text,
        balance -> BigInt,
        lifetime_points -> BigInt,
        visits -> BigInt,
        last_visit_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        points_expire_next_at -> Nullable<Timestamp>,
        erased_at -> Nullable<Timestamp>,
        search_indexed -> Bool,
    }
}

diesel::table! {
    customer_search_terms (tenant_id, term, customer_id) {
        tenant_id -> Text,
        term -> Text,
        customer_id -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Nullable<Text>,
        event_type -> Text,
        occurred_at -> Timestamp,
        data -> Text,
        written_seq -> BigInt,
        position -> Nullable<BigInt>,
    }
}

diesel::table! {
    ledger_entries (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        customer_id -> Text,
        kind -> Text,
        points -> BigInt,
        balance_after -> BigInt,
        visit_number -> Nullable<BigInt>,
        amount_minor -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        reference -> Nullable<Text>,
        reason -> Nullable<Text>,
        reverses_entry_id -> Nullable<Text>,
        actor_key_id -> Text,
        request_id -> Nullable<Text>,
        created_at -> Timestamp,
        redemption_id -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (tenant_id, api_key_id, idempotency_key) {
        tenant_id -> Text,
        api_key_id -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        status_code -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    rewards (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        cost_points -> BigInt,
        active -> Bool,
        stock -> Nullable<BigInt>,
        valid_days -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    redemptions (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        customer_id -> Text,
        reward_id -> Text,
        reward_name -> Text,
        status -> Text,
        code -> Text,
        qr_payload -> Text,
        points_spent -> BigInt,
        milestone_visit_number -> Nullable<BigInt>,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        fulfilled_by_key_id -> Nullable<Text>,
    }
}

diesel::table! {
    audit_entries (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        actor_key_id -> Text,
        request_id -> Nullable<Text>,
        action -> Text,
        subject_id -> Text,
        changes -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    point_lots (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        customer_id -> Text,
        source_entry_id -> Text,
        earned_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        remaining -> BigInt,
    }
}

diesel::table! {
    lot_draws (tenant_id, entry_id, lot_id) {
        tenant_id -> Text,
        entry_id -> Text,
        lot_id -> Text,
        points -> BigInt,
    }
}

diesel::table! {
    event_places (id) {
        id -> Integer,
        last_position -> BigInt,
    }
}

diesel::table! {
    webhook_endpoints (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        url -> Text,
        event_types -> Text,
        description -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (endpoint_id, event_id) {
        tenant_id -> Text,
        endpoint_id -> Text,
        event_id -> Text,
        event_type -> Text,
        position -> BigInt,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_attempts (endpoint_id, event_id, number) {
        endpoint_id -> Text,
        event_id -> Text,
        number -> Integer,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
        response_excerpt -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(events, webhook_deliveries, webhook_attempts);
