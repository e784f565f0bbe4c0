-- The Idempotency-Key of each phase-2 checkout attempt, and at most one placed order per key:
-- a retry that neither the idempotency record (a day) nor the cart (its last checkouts)
-- remembers still finds the order its key placed instead of buying the cart again.
ALTER TABLE checkout_claims ADD COLUMN idem_key text;
CREATE UNIQUE INDEX checkout_claims_placed_key ON checkout_claims (user_id, idem_key) WHERE outcome = 'placed';
