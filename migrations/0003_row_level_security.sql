-- The role the app's queries run as (it logs in as the owner, then SET ROLE). Roles are cluster-wide,
-- so another database of the same cluster may have created it already, even concurrently.
DO $$
BEGIN
  CREATE ROLE dbaccess_app NOLOGIN NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;
--> statement-breakpoint
-- The owner must be able to SET ROLE to it even when it is not a superuser.
DO $$
BEGIN
  EXECUTE format('GRANT dbaccess_app TO %I', current_user);
EXCEPTION WHEN duplicate_object OR unique_violation OR invalid_grant_operation THEN
  NULL;
END
$$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO dbaccess_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO dbaccess_app;
--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO dbaccess_app;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO dbaccess_app;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO dbaccess_app;
--> statement-breakpoint
-- The audit log is append-only for the app: no UPDATE or DELETE at all (the trigger refuses them for everyone else).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM dbaccess_app;
--> statement-breakpoint
-- Row-level security: a row is visible and writable only in its tenant's scope, or in the system's ('*').
-- The scope is set per connection by the app before each query (dbaccess.tenant_id); unset, nothing is visible.
CREATE FUNCTION dbaccess_tenant_visible(row_tenant uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('dbaccess.tenant_id', true), '') IN ('*', row_tenant::text)
$$;
--> statement-breakpoint
ALTER TABLE chat_users ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON chat_users USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
--> statement-breakpoint
ALTER TABLE access_requests ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON access_requests USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
--> statement-breakpoint
ALTER TABLE decisions ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON decisions USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
--> statement-breakpoint
ALTER TABLE leases ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON leases USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
--> statement-breakpoint
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON audit_events USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
