CREATE TABLE "audit_checkpoints" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"hash" text NOT NULL,
	"prev_mac" text NOT NULL,
	"mac" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_export_cursors" (
	"sink" text NOT NULL,
	"tenant_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "audit_export_cursors_sink_tenant_id_pk" PRIMARY KEY("sink","tenant_id")
);
--> statement-breakpoint
ALTER TABLE "audit_checkpoints" ADD CONSTRAINT "audit_checkpoints_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_export_cursors" ADD CONSTRAINT "audit_export_cursors_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_checkpoints_tenant" ON "audit_checkpoints" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "audit_export_cursors_tenant" ON "audit_export_cursors" USING btree ("tenant_id");--> statement-breakpoint
-- One path into the audit log: the app's role may no longer INSERT rows itself (which would let it
-- choose seq, prev_hash and hash); it calls dbaccess_audit_append, which runs as the owner, takes the
-- tenant's chain lock and computes the links. The function refuses a tenant outside the caller's scope.
CREATE OR REPLACE FUNCTION dbaccess_audit_append(
  p_tenant uuid, p_actor text, p_action text, p_subject text, p_outcome text, p_details jsonb,
  p_created_at timestamptz, p_content_hash text
) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  head_seq bigint;
  head_hash text;
BEGIN
  IF NOT dbaccess_tenant_visible(p_tenant) THEN
    RAISE EXCEPTION 'audit append outside the tenant scope' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_content_hash !~ '^[0-9a-f]{64}$' THEN
    RAISE EXCEPTION 'audit append needs a sha256 content hash' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant::text, 7));
  SELECT seq, hash INTO head_seq, head_hash FROM audit_events WHERE tenant_id = p_tenant ORDER BY seq DESC LIMIT 1;
  head_seq := coalesce(head_seq, 0);
  head_hash := coalesce(head_hash, repeat('0', 64));
  INSERT INTO audit_events (tenant_id, seq, actor, action, subject, outcome, details, created_at, prev_hash, hash)
  VALUES (p_tenant, head_seq + 1, p_actor, p_action, p_subject, p_outcome, p_details, p_created_at, head_hash,
          encode(sha256(convert_to(head_hash || ':' || (head_seq + 1)::text || ':' || p_content_hash, 'UTF8')), 'hex'));
  RETURN head_seq + 1;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION dbaccess_audit_append(uuid, text, text, text, text, jsonb, timestamptz, text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION dbaccess_audit_append(uuid, text, text, text, text, jsonb, timestamptz, text) TO dbaccess_app;
--> statement-breakpoint
REVOKE INSERT ON audit_events FROM dbaccess_app;
--> statement-breakpoint
-- Reports read a period of a tenant's events and the events of each request and lease; purges find old statements by time.
CREATE INDEX audit_events_tenant_created ON audit_events USING btree (tenant_id, created_at);
--> statement-breakpoint
-- Only the events a report looks up by subject (approvals with their MFA, extensions): a small index.
CREATE INDEX audit_events_report_subject ON audit_events USING btree (tenant_id, subject)
  WHERE action IN ('request.approved', 'request.approval_recorded', 'lease.extended');
--> statement-breakpoint
CREATE INDEX captured_statements_at ON captured_statements USING btree (at);
--> statement-breakpoint
-- Checkpoints are append-only too, for the app and (through the trigger) for everyone else.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_checkpoints FROM dbaccess_app;
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
--> statement-breakpoint
ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON audit_checkpoints USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
--> statement-breakpoint
ALTER TABLE audit_export_cursors ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON audit_export_cursors USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
