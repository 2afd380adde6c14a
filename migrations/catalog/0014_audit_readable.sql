-- The audit trail as admins read it (GET /audit): who (subject, name, role), from where (client address, request id),
-- paged newest first on (at, id) alone or within a tenant, a subject or an action; trimmed oldest first by retention.
ALTER TABLE catalog.audit_log
    ADD COLUMN name           text,
    ADD COLUMN role           text,
    ADD COLUMN client_address text,
    ADD COLUMN request_id     text;

DROP INDEX catalog.audit_log_tenant_at;
CREATE INDEX audit_log_at ON catalog.audit_log (at, id);
CREATE INDEX audit_log_tenant_at ON catalog.audit_log (tenant_id, at, id);
CREATE INDEX audit_log_subject_at ON catalog.audit_log (subject, at, id);
CREATE INDEX audit_log_action_at ON catalog.audit_log (action, at, id);
