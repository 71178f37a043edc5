//! Currencies and countries, validated against ISO 4217 and the ISO 3166 regions phone numbers
//! know about.

use std::fmt;

/// An ISO 4217 currency code such as `EUR`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Currency(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ISO 4217 currency code")]
pub struct UnknownCurrency(String);

impl Currency {
    /// Accepts the code in any case and keeps it upper-case.
    pub fn parse(code: &str) -> Result<Self, UnknownCurrency> {
        let upper = code.trim().to_ascii_uppercase();
        iso_currency::Currency::from_code(&upper)
            .map(|_| Self(upper))
            .ok_or_else(|| UnknownCurrency(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The currency of a tenant that names none (the default tenant at first start).
impl Default for Currency {
    fn default() -> Self {
        Self("USD".to_owned())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 3166-1 alpha-2 country code such as `DE`; it decides how phone numbers written
/// without a country code are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country(phonenumber::country::Id);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ISO 3166-1 alpha-2 country code")]
pub struct UnknownCountry(String);

impl Country {
    pub fn parse(code: &str) -> Result<Self, UnknownCountry> {
        code.trim()
            .to_ascii_uppercase()
            .parse()
            .map(Self)
            .map_err(|_| UnknownCountry(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }

    pub(crate) fn phone_region(self) -> phonenumber::country::Id {
        self.0
    }
}

/// The country of a tenant that names none (the default tenant at first start).
impl Default for Country {
    fn default() -> Self {
        Self(phonenumber::country::Id::US)
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies() {
        assert_eq!(Currency::parse("eur").unwrap().as_str(), "EUR");
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("XYZ").is_err());
    }

    #[test]
    fn defaults_are_valid_codes() {
        assert_eq!(
            Currency::parse(Currency::default().as_str()).unwrap(),
            Currency::default()
        );
        assert_eq!(
            Country::parse(Country::default().as_str()).unwrap(),
            Country::default()
        );
    }

    #[test]
    fn countries() {
        assert_eq!(Country::parse("de").unwrap().as_str(), "DE");
        assert!(Country::parse("DEU").is_err());
        assert!(Country::parse("ZZ").is_err());
    }
}
