CREATE TABLE "analyses" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"user_id" uuid NOT NULL,
	"request_id" text,
	"lease_id" uuid,
	"status" text NOT NULL,
	"input" jsonb,
	"view_ref" jsonb,
	"result" jsonb,
	"analyzer" text,
	"model" text,
	"fallback" text,
	"input_tokens" integer DEFAULT 0 NOT NULL,
	"output_tokens" integer DEFAULT 0 NOT NULL,
	"cache_read_tokens" integer DEFAULT 0 NOT NULL,
	"cache_write_tokens" integer DEFAULT 0 NOT NULL,
	"cost_micro_usd" integer DEFAULT 0 NOT NULL,
	"latency_ms" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "capture_cursors" (
	"database_id" text PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"position" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "captured_statements" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"lease_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"statement" text NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "leases" ADD COLUMN "capture_method" text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "leases" ADD COLUMN "captured_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "leases" ADD COLUMN "capture_truncated" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "analyses" ADD CONSTRAINT "analyses_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "analyses" ADD CONSTRAINT "analyses_user_id_chat_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."chat_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "analyses" ADD CONSTRAINT "analyses_request_id_access_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."access_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "analyses" ADD CONSTRAINT "analyses_lease_id_leases_id_fk" FOREIGN KEY ("lease_id") REFERENCES "public"."leases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "captured_statements" ADD CONSTRAINT "captured_statements_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "captured_statements" ADD CONSTRAINT "captured_statements_lease_id_leases_id_fk" FOREIGN KEY ("lease_id") REFERENCES "public"."leases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "analyses_tenant" ON "analyses" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "analyses_request" ON "analyses" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "analyses_lease" ON "analyses" USING btree ("lease_id");--> statement-breakpoint
CREATE INDEX "analyses_user" ON "analyses" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "captured_statements_lease" ON "captured_statements" USING btree ("lease_id","at");--> statement-breakpoint
CREATE INDEX "captured_statements_tenant" ON "captured_statements" USING btree ("tenant_id");--> statement-breakpoint
ALTER TABLE analyses ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON analyses USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
--> statement-breakpoint
ALTER TABLE captured_statements ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON captured_statements USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
--> statement-breakpoint
-- Read positions in targets' logs belong to no tenant: only the system scope may touch them.
ALTER TABLE capture_cursors ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY system_only ON capture_cursors USING (current_setting('dbaccess.tenant_id', true) = '*') WITH CHECK (current_setting('dbaccess.tenant_id', true) = '*');
