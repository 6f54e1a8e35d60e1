ALTER TABLE "access_requests" ADD COLUMN "policy" jsonb;--> statement-breakpoint
ALTER TABLE mfa_enrollments ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON mfa_enrollments USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
--> statement-breakpoint
ALTER TABLE mfa_recovery_codes ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON mfa_recovery_codes USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
