-- Search in any script (issue 11): words of every language, folded as phase 1 folds them
-- (cloudshelf.domain.search_terms), CJK characters indexed one by one and in adjacent pairs.
--
-- cloudshelf_fold() is search_terms.normalize(): NFKD, combining accents removed (a breve or
-- diaeresis on a Cyrillic letter stays: й, ў, ї; ё then reads as е), NFC, lower case, ß as "ss",
-- ς as σ, apostrophes dropped. cloudshelf_search_text() folds the same way, then spaces out every
-- CJK character and follows it by its pair with the next one ("吾輩は" -> " 吾 吾輩 輩 輩は は "),
-- as search_terms.terms() does. The patterns are search_terms.ACCENTS and search_terms.CJK
-- verbatim (a unit test checks; an integration test compares the terms with Python's).
--
-- cloudshelf_search_text() repeats the folding rather than calling cloudshelf_fold(): built-ins
-- only, one expression, so PostgreSQL inlines it (half the cost of a call) and it needs no
-- search_path (pg_restore runs with an empty one). Plain ASCII takes a short cut: only case and
-- apostrophes change. Both functions are IMMUTABLE because the generated column relies on them:
-- never CREATE OR REPLACE them (stored rows would keep the old folding); add new ones and
-- regenerate the column. Letters are told apart by the database's LC_CTYPE (lower(), the text
-- search parser): a UTF-8 locale such as RDS's default en_US.UTF-8 or C.UTF-8, not plain C.
CREATE FUNCTION cloudshelf_fold(t text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
SELECT CASE WHEN octet_length(t) = length(t) THEN translate(lower(t), '''', '')
       ELSE translate(
                regexp_replace(
                    lower(normalize(regexp_replace(normalize(t, NFKD),
                        '(?<![\u0400-\u052f])[\u0306\u0308]|[\u0300-\u0305\u0307\u0309-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u0610-\u061a\u0640\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]',
                        '', 'g'), NFC)),
                    '[ßẞ]', 'ss', 'g'),
                'ςё''’', 'σе')
       END
$fn$;

CREATE FUNCTION cloudshelf_search_text(t text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$
SELECT CASE WHEN octet_length(t) = length(t) THEN translate(lower(t), '''', '')
       ELSE regexp_replace(
           regexp_replace(
               regexp_replace(  -- CJK runs apart from other words
                   translate(
                regexp_replace(
                    lower(normalize(regexp_replace(normalize(t, NFKD),
                        '(?<![\u0400-\u052f])[\u0306\u0308]|[\u0300-\u0305\u0307\u0309-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u0610-\u061a\u0640\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]',
                        '', 'g'), NFC)),
                    '[ßẞ]', 'ss', 'g'),
                'ςё''’', 'σе'),
                   '([\u3005-\u3007\u3021-\u3029\u3031-\u3035\u303b\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af]+)', ' \1 ', 'g'),
               -- "abc" -> "abbcc": every CJK character after another one doubled
               '(?<=[\u3005-\u3007\u3021-\u3029\u3031-\u3035\u303b\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af])([\u3005-\u3007\u3021-\u3029\u3031-\u3035\u303b\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af])',
               '\1\1', 'g'),
           -- -> " a ab  b bc c": each pair spaced out, preceded by its first character
           '([\u3005-\u3007\u3021-\u3029\u3031-\u3035\u303b\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af])([\u3005-\u3007\u3021-\u3029\u3031-\u3035\u303b\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af])',
           ' \1 \1\2 ', 'g')
       END
$fn$;

-- Title weighs more than author, author more than description (as in 0001). The old code's
-- queries ([a-z0-9] words) still match the new column, so it keeps working until replaced.
-- Regenerating the column rewrites the table under an exclusive lock: about 20-30 s per 100,000
-- books (500-character descriptions, measured on a busy 2-core machine), while catalog reads
-- wait. More than the migrations' 60 s statement timeout for a big catalog, so this transaction
-- may take up to 4 minutes (MigrateFunction has 5).
SET LOCAL statement_timeout = '240s';
ALTER TABLE books DROP COLUMN search;
ALTER TABLE books ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', cloudshelf_search_text(title)), 'A')
    || setweight(to_tsvector('english', cloudshelf_search_text(author)), 'B')
    || setweight(to_tsvector('english', cloudshelf_search_text(description)), 'C')
) STORED;
CREATE INDEX books_search ON books USING gin (search);

-- Listing order by code point, as DynamoDB compares its sort keys (UTF-8 bytes), whatever the
-- database's collation: both stores list alike and can continue each other's cursors.
ALTER TABLE books ALTER COLUMN title_key TYPE text COLLATE "C";

-- Title keys as search_terms.title_key() now makes them: words of every script (they were
-- [a-z0-9] only), never empty. Titles in plain ASCII with a letter or digit keep theirs. Close
-- enough: [[:alnum:]] splits a word at a mark it does not count as a letter (a virama), where
-- Python keeps the word; the book's next write stores Python's key, and the listing resumes
-- from stored keys meanwhile.
UPDATE books SET title_key = left(coalesce(
        nullif(regexp_replace(trim(regexp_replace(folded, '[^[:alnum:]]+', ' ', 'g')), '^(the|a|an) ', ''), ''),
        nullif(trim(folded), ''),
        title), 100)
FROM (SELECT book_id, cloudshelf_fold(title) FROM books WHERE title ~ '[^\x01-\x7f]' OR title_key = '')
    AS rekeyed (id, folded)
WHERE books.book_id = rekeyed.id;
