-- Encryption at rest (docs/encryption.md): with ENCRYPTION_KEYS set, a delivery's body is deflated, then encrypted,
-- and stored in payload_sealed instead of payload. Rows written before stay in payload, readable as they were.
ALTER TABLE github_deliveries ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE github_deliveries ADD COLUMN payload_sealed bytea;
-- Ciphertext does not compress: EXTERNAL stores it out of line without trying.
ALTER TABLE github_deliveries ALTER COLUMN payload_sealed SET STORAGE EXTERNAL;
-- NOT VALID: checks new rows without reading every existing one under the lock.
ALTER TABLE github_deliveries ADD CONSTRAINT github_deliveries_payload_stored
    CHECK (payload IS NOT NULL OR payload_sealed IS NOT NULL) NOT VALID;
