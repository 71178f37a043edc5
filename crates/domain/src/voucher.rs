//! Vouchers: a reward issued to a customer, redeemed at the counter with a short code or a QR
//! payload, at most once, before it expires; a cancelled or expired voucher never.

use chrono::{DateTime, Duration, Utc};

use crate::LoyaltyError;
use crate::auth::Role;
use crate::ids::{CustomerId, RewardId, VoucherId};
use crate::rewards::Reward;
use crate::secrets::{random_bytes, url_token};
use crate::tenant::TenantId;

/// Letters and digits a person can read back without confusing them: no 0/O, no 1/I/L.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const CODE_LEN: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VoucherStatus {
    Issued,
    Fulfilled,
    Cancelled,
    Expired,
}

impl VoucherStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Fulfilled => "fulfilled",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Issued,
            Self::Fulfilled,
            Self::Cancelled,
            Self::Expired,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    pub id: VoucherId,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub reward_id: RewardId,
    /// The reward's name when the voucher was issued.
    pub reward_name: String,
    pub status: VoucherStatus,
    pub code: String,
    pub qr_payload: String,
    pub points_spent: i64,
    /// For a milestone voucher: the visit that completed the card.
    pub milestone_visit_number: Option<i64>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// When it was fulfilled, cancelled or expired.
    pub closed_at: Option<DateTime<Utc>>,
    /// The API key that fulfilled it.
    pub fulfilled_by_key_id: Option<String>,
}

/// Characters of a code or QR payload left showing where it is masked: enough to tell two
/// vouchers apart at the counter, far too few to redeem one.
const UNMASKED_TAIL: usize = 2;

/// `secret` with every character but the last [`UNMASKED_TAIL`] replaced by `*`.
fn mask(secret: &str) -> String {
    let hidden = secret.chars().count().saturating_sub(UNMASKED_TAIL);
    secret
        .chars()
        .enumerate()
        .map(|(i, c)| if i < hidden { '*' } else { c })
        .collect()
}

impl crate::page::Keyed for Voucher {
    fn sort_key(&self) -> &str {
        self.id.as_str()
    }
}

impl Voucher {
    /// The voucher as `role` may see it after it was issued: staff see its code and QR payload
    /// only in the answer that issued it (and the customer on their own card); elsewhere both
    /// are masked, so a staff key's reads cannot be used to redeem other people's vouchers.
    pub fn as_seen_by(self, role: Role) -> Self {
        if role == Role::Staff {
            self.masked()
        } else {
            self
        }
    }

    /// The voucher with its code and QR payload masked, as lists and events show it.
    pub fn masked(mut self) -> Self {
        self.code = mask(&self.code);
        self.qr_payload = mask(&self.qr_payload);
        self
    }

    /// The status as of `now`: an issued voucher past its expiry is expired whether or not a sweep
    /// has marked it yet.
    pub fn status_at(&self, now: DateTime<Utc>) -> VoucherStatus {
        if self.status == VoucherStatus::Issued && now >= self.expires_at {
            VoucherStatus::Expired
        } else {
            self.status
        }
    }

    /// Why this voucher cannot be fulfilled or cancelled now, if it cannot.
    pub fn ensure_open(&self, now: DateTime<Utc>) -> Result<(), LoyaltyError> {
        match self.status_at(now) {
            VoucherStatus::Issued => Ok(()),
            VoucherStatus::Fulfilled => Err(LoyaltyError::AlreadyFulfilled),
            VoucherStatus::Cancelled => Err(LoyaltyError::VoucherCancelled),
            VoucherStatus::Expired => Err(LoyaltyError::VoucherExpired),
        }
    }
}

/// A short code from [`CODE_ALPHABET`], drawn without bias.
pub fn new_code() -> Result<String, getrandom::Error> {
    let alphabet = CODE_ALPHABET.len();
    // The largest multiple of the alphabet's size under 256: bytes above it are redrawn.
    let limit = (256 / alphabet * alphabet) as u8;
    let mut code = String::with_capacity(CODE_LEN);
    while code.len() < CODE_LEN {
        for byte in random_bytes::<16>()? {
            if byte < limit && code.len() < CODE_LEN {
                code.push(char::from(CODE_ALPHABET[usize::from(byte) % alphabet]));
            }
        }
    }
    Ok(code)
}

/// A code as typed at the counter: case, spaces and hyphens do not matter.
pub fn normalize_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase()
}

/// A new voucher for `reward`, valid for the reward's number of days.
pub fn issue(
    reward: &Reward,
    customer_id: &CustomerId,
    points_spent: i64,
    milestone_visit_number: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Voucher, LoyaltyError> {
    Ok(Voucher {
        id: VoucherId::generate(),
        tenant_id: reward.tenant_id.clone(),
        customer_id: customer_id.clone(),
        reward_id: reward.id.clone(),
        reward_name: reward.name.clone(),
        status: VoucherStatus::Issued,
        code: new_code().map_err(LoyaltyError::Randomness)?,
        // 18 bytes: 144 bits, what a QR code encodes; unrelated to the code and the ids.
        qr_payload: url_token::<18>().map_err(LoyaltyError::Randomness)?,
        points_spent,
        milestone_visit_number,
        expires_at: now + Duration::days(reward.valid_days),
        created_at: now,
        closed_at: None,
        fulfilled_by_key_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_leaves_the_last_two_characters() {
        assert_eq!(mask("K7MQ2XRD"), "******RD");
        assert_eq!(mask("ab"), "ab");
        assert_eq!(mask(""), "");
        assert_eq!(mask("ñandú"), "***dú", "counted in characters");
    }

    #[test]
    fn codes_use_only_unambiguous_characters() {
        for _ in 0..200 {
            let code = new_code().unwrap();
            assert_eq!(code.len(), CODE_LEN);
            assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']));
        }
        assert_ne!(new_code().unwrap(), new_code().unwrap());
    }

    #[test]
    fn typed_codes_are_normalized() {
        assert_eq!(normalize_code(" abcd-efgh "), "ABCDEFGH");
    }

    #[test]
    fn issued_vouchers_expire_by_the_clock() {
        let now = Utc::now();
        let voucher = Voucher {
            id: VoucherId::generate(),
            tenant_id: TenantId::parse("t").unwrap(),
            customer_id: CustomerId::generate(),
            reward_id: RewardId::generate(),
            reward_name: "Wash".into(),
            status: VoucherStatus::Issued,
            code: "ABCDEFGH".into(),
            qr_payload: "q".into(),
            points_spent: 10,
            milestone_visit_number: None,
            expires_at: now + Duration::days(1),
            created_at: now,
            closed_at: None,
            fulfilled_by_key_id: None,
        };
        assert!(voucher.ensure_open(now).is_ok());
        assert_eq!(
            voucher.status_at(now + Duration::days(1)),
            VoucherStatus::Expired
        );
        assert!(matches!(
            voucher.ensure_open(now + Duration::days(2)),
            Err(LoyaltyError::VoucherExpired)
        ));
        let fulfilled = Voucher {
            status: VoucherStatus::Fulfilled,
            ..voucher.clone()
        };
        assert!(matches!(
            fulfilled.ensure_open(now + Duration::days(2)),
            Err(LoyaltyError::AlreadyFulfilled)
        ));
        let cancelled = Voucher {
            status: VoucherStatus::Cancelled,
            ..voucher
        };
        assert!(matches!(
            cancelled.ensure_open(now),
            Err(LoyaltyError::VoucherCancelled)
        ));
    }
}
