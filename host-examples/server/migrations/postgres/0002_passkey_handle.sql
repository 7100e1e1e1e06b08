-- The user handle each user's passkeys were made for, kept beside the record
-- (which holds it too) so that a passwordless sign-in finds its user.
ALTER TABLE users ADD COLUMN IF NOT EXISTS passkey_handle TEXT;
UPDATE users SET passkey_handle = record::jsonb ->> 'passkey_handle'
    WHERE record <> '';
CREATE UNIQUE INDEX IF NOT EXISTS users_by_passkey_handle ON users (passkey_handle)
    WHERE passkey_handle IS NOT NULL;
