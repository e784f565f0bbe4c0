-- The fate of every phase-2 checkout attempt, decided once: 'placed' (the order and its stock
-- were written in the same transaction) or 'abandoned' (stock or a price no longer allowed it).
-- A request that finds its attempt here (a retry after a lost answer, another tab settling a
-- claimed cart) learns the outcome instead of placing a second order. Orders are never deleted.
CREATE TABLE checkout_claims (
    order_id   text PRIMARY KEY CHECK (order_id ~ '^[0-9A-Z]{26}$'),
    user_id    text NOT NULL,
    outcome    text NOT NULL CHECK (outcome IN ('placed', 'abandoned')),
    decided_at timestamptz NOT NULL DEFAULT now()
);
