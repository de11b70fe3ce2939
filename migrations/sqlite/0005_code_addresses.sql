-- Addresses a user proved with a one-time code at a registration prompt: at most one email
-- address and one phone number per user, each kept as a credential row whose secret is
-- JSON (`{"address": ...}`); `local_otp` steps send to it before any profile attribute.
CREATE UNIQUE INDEX credentials_one_email ON credentials (user_id) WHERE kind = 'email';
CREATE UNIQUE INDEX credentials_one_sms ON credentials (user_id) WHERE kind = 'sms';
