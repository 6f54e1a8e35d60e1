CREATE TABLE "inbound_intents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"platform" text NOT NULL,
	"workspace_id" text NOT NULL,
	"kind" text NOT NULL,
	"actor_external_id" text,
	"subject" text NOT NULL,
	"delivery_key" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"done_at" timestamp with time zone,
	"outcome" text
);
--> statement-breakpoint
ALTER TABLE "inbound_intents" ADD CONSTRAINT "inbound_intents_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "inbound_intents_delivery" ON "inbound_intents" USING btree ("tenant_id","delivery_key");--> statement-breakpoint
CREATE INDEX "inbound_intents_open" ON "inbound_intents" USING btree ("received_at") WHERE done_at IS NULL;--> statement-breakpoint
ALTER TABLE inbound_intents ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON inbound_intents USING (dbaccess_tenant_visible(tenant_id)) WITH CHECK (dbaccess_tenant_visible(tenant_id));
