use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::TenantId;
use crate::local_time::TimeZone;
use crate::money::{Country, Currency};

/// A business running a loyalty program.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub vertical: Vertical,
    pub loyalty_type: LoyaltyType,
    /// Where the business is: phone numbers without a country code are read as this country's.
    pub country: Country,
    /// The one currency its purchases are recorded in.
    pub currency: Currency,
    /// Where its days start and end: points expire at the end of its local day.
    pub time_zone: TimeZone,
    /// A host name the tenant's front end is served on, e.g. `rewards.acme-wash.com`.
    pub primary_domain: Option<String>,
    /// The first label of a host under the platform's domain, e.g. `acme` in `acme.example.app`.
    pub subdomain: Option<String>,
    /// Feature flags a front end may switch on or off for this tenant.
    pub features: BTreeMap<String, bool>,
    pub branding: Branding,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Tenant {
    /// Names this state of the tenant, for `ETag` and `If-Match`: every change sets
    /// `updated_at`, so its microseconds tell one state from the next.
    pub fn version(&self) -> String {
        self.updated_at.timestamp_micros().to_string()
    }
}

impl crate::page::Keyed for Tenant {
    fn sort_key(&self) -> &str {
        self.id.as_str()
    }
}

/// The kind of business, which front ends use to pick wording and icons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vertical {
    CarWash,
    Cafe,
    Restaurant,
    Salon,
    Fitness,
    Padel,
    Retail,
    Other,
}

/// How the program rewards customers: stamps per visit, points per spend, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoyaltyType {
    Stamps,
    Points,
    Hybrid,
}

/// A tenant's look; every field is optional and the theme fills the gaps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(<$ty>::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(<$ty>::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

text_enum!(Vertical {
    CarWash => "car_wash",
    Cafe => "cafe",
    Restaurant => "restaurant",
    Salon => "salon",
    Fitness => "fitness",
    Padel => "padel",
    Retail => "retail",
    Other => "other",
});

text_enum!(LoyaltyType {
    Stamps => "stamps",
    Points => "points",
    Hybrid => "hybrid",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip_and_match_serde() {
        for v in Vertical::ALL {
            assert_eq!(Vertical::parse(v.as_str()), Some(*v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        for t in LoyaltyType::ALL {
            assert_eq!(LoyaltyType::parse(t.as_str()), Some(*t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(Vertical::parse("bakery"), None);
    }
}
