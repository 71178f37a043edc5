-- A voucher's spending entry, found when the voucher is cancelled or expires and its points go
-- back: without this index that look-up read the tenant's whole ledger while holding the
-- voucher's and the customer's locks. Partial: only redemption entries carry a voucher.
CREATE INDEX ledger_entries_redemption_idx ON ledger_entries (tenant_id, redemption_id)
    WHERE redemption_id IS NOT NULL;
