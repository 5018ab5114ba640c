-- 0001_init: the books. See docs/mysql.md.
--
-- Rules for migration files (enforced by src/mysql/migrate.ts):
--   * one statement per chunk, each ending with ';' at the end of its line;
--   * never edit a file once it has been applied anywhere (its checksum is recorded): add a new
--     numbered file instead;
--   * DDL commits implicitly, so a file is not atomic: write statements that can run again
--     (CREATE TABLE IF NOT EXISTS, ...) in case a replica dies halfway through a file.
-- Must run unchanged on MySQL 8 and MariaDB 10.11.

-- MySQL's view of every SKU, maintained only by the ledger-writer.
-- sku is utf8mb4_bin: compared by code point (case- and accent-sensitive), like Redis keys.
-- The CHECK constraints are a second line of defence behind the ledger-writer's own checks:
-- a row that breaks no-oversell or conservation can never be stored.
CREATE TABLE IF NOT EXISTS inventory_stock (
  sku            VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  total          BIGINT NOT NULL DEFAULT 0,
  available      BIGINT NOT NULL DEFAULT 0,
  held           BIGINT NOT NULL DEFAULT 0,
  sold           BIGINT NOT NULL DEFAULT 0,
  per_user_limit INT NOT NULL DEFAULT 0,
  created_at     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (sku),
  CONSTRAINT inventory_stock_non_negative CHECK (available >= 0 AND held >= 0 AND sold >= 0),
  CONSTRAINT inventory_stock_conserved CHECK (available + held + sold = total),
  CONSTRAINT inventory_stock_limit CHECK (per_user_limit >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Append-only ledger: one row per (state change, SKU). The primary key is what makes a change
-- effectively-once: a second insert of the same (change_id, sku) fails with ER_DUP_ENTRY.
CREATE TABLE IF NOT EXISTS inventory_ledger (
  change_id   VARCHAR(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  sku         VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  kind        VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  event_id    VARCHAR(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  checkout_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  d_total     BIGINT NOT NULL,
  d_available BIGINT NOT NULL,
  d_held      BIGINT NOT NULL,
  d_sold      BIGINT NOT NULL,
  per_user    INT NULL,
  shard       VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  stream_ms   BIGINT UNSIGNED NOT NULL,
  stream_seq  BIGINT UNSIGNED NOT NULL,
  at_ms       BIGINT NOT NULL,
  written_at  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (change_id, sku),
  KEY inventory_ledger_stream (shard, stream_ms, stream_seq),
  KEY inventory_ledger_sku (sku)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Changes the ledger-writer refused (they would have broken an invariant, or were malformed).
-- One row per (change, SKU); a redelivered incident bumps occurrences instead of adding a row.
-- A refused change is re-evaluated when delivered again (it may have arrived before the changes
-- it depends on); if it is applied then, resolved_at is set. Unresolved = resolved_at IS NULL.
CREATE TABLE IF NOT EXISTS ledger_incidents (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  change_id    VARCHAR(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  sku          VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  reason       VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  detail       TEXT NOT NULL,
  stream_id    VARCHAR(48) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  shard        VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  occurrences  INT UNSIGNED NOT NULL DEFAULT 1,
  created_at   TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_seen_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  resolved_at  TIMESTAMP(3) NULL DEFAULT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY ledger_incidents_change_sku (change_id, sku),
  KEY ledger_incidents_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
