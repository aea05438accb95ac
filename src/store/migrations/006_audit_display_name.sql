-- The audit names the OS account (from the process's uid) and, beside it, the name the
-- user gave funnel (`user_name` in config.toml or $FUNNEL_USER_NAME): self-declared, so it
-- never replaces the account.
ALTER TABLE audit_log ADD COLUMN display_name TEXT;
