-- CloudShelf phase 2 schema: catalog with full-text search, users, orders with their lines.

CREATE TABLE books (
    book_id     text PRIMARY KEY CHECK (book_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    author      text NOT NULL CHECK (length(author) BETWEEN 1 AND 200),
    category    text NOT NULL CHECK (length(category) BETWEEN 1 AND 48),
    price       numeric(12, 2) NOT NULL CHECK (price > 0),
    stock       integer NOT NULL CHECK (stock >= 0),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    isbn        text NOT NULL CHECK (isbn ~ '^([0-9]{9}[0-9X]|97[89][0-9]{10})$'),
    image_url   text NOT NULL DEFAULT '',
    title_key   text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- Title weighs more than author, author more than description.
    search      tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('english', title), 'A')
                    || setweight(to_tsvector('english', author), 'B')
                    || setweight(to_tsvector('english', description), 'C')
                ) STORED
);
CREATE INDEX books_by_title ON books (title_key, book_id);
CREATE INDEX books_by_category ON books (category, title_key, book_id);
CREATE INDEX books_search ON books USING gin (search);

CREATE TABLE users (
    user_id      text PRIMARY KEY,
    email        text NOT NULL,
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 80),
    address      jsonb,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- Orders are the caller's own; a shopper may order before ever opening their profile,
-- so user_id is not a foreign key to users.
CREATE TABLE orders (
    order_id   text PRIMARY KEY CHECK (order_id ~ '^[0-9A-Z]{26}$'),
    user_id    text NOT NULL,
    status     text NOT NULL CHECK (status IN ('PLACED')),
    total      numeric(12, 2) NOT NULL CHECK (total >= 0),
    currency   char(3) NOT NULL,
    note       text,
    created_at timestamptz NOT NULL
);
CREATE INDEX orders_by_user ON orders (user_id, order_id DESC);

-- Lines keep their own title and price: the catalog may change or drop the book later.
CREATE TABLE order_items (
    order_id   text NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
    line_no    smallint NOT NULL CHECK (line_no >= 0),
    book_id    text NOT NULL,
    title      text NOT NULL,
    author     text NOT NULL,
    unit_price numeric(12, 2) NOT NULL CHECK (unit_price > 0),
    quantity   integer NOT NULL CHECK (quantity > 0),
    line_total numeric(12, 2) NOT NULL CHECK (line_total = unit_price * quantity),
    PRIMARY KEY (order_id, line_no)
);
