CREATE TABLE "cli_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_code" text NOT NULL,
	"device_code_hash" text NOT NULL,
	"client" text NOT NULL,
	"tenant_id" uuid,
	"user_id" uuid,
	"token_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"confirm_by" timestamp with time zone NOT NULL,
	"confirmed_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "delivery" text DEFAULT 'dm' NOT NULL;--> statement-breakpoint
ALTER TABLE "cli_tokens" ADD CONSTRAINT "cli_tokens_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cli_tokens" ADD CONSTRAINT "cli_tokens_user_id_chat_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."chat_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "cli_tokens_device_code" ON "cli_tokens" USING btree ("device_code_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "cli_tokens_token" ON "cli_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "cli_tokens_user_code" ON "cli_tokens" USING btree ("user_code");--> statement-breakpoint
CREATE INDEX "cli_tokens_tenant" ON "cli_tokens" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "cli_tokens_user" ON "cli_tokens" USING btree ("user_id");--> statement-breakpoint
ALTER TABLE cli_tokens ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
-- A sign-in that waits has no tenant yet: only the system's scope (the CLI API's own look-ups) sees it.
CREATE POLICY tenant_isolation ON cli_tokens USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
