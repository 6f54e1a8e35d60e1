ALTER TABLE "access_requests" ADD COLUMN "kind" text DEFAULT 'access' NOT NULL;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "extends_request_id" text;--> statement-breakpoint
ALTER TABLE "leases" ADD COLUMN "external_lease_sealed" text;--> statement-breakpoint
ALTER TABLE "access_requests" ADD CONSTRAINT "access_requests_extends_request_id_access_requests_id_fk" FOREIGN KEY ("extends_request_id") REFERENCES "public"."access_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "access_requests_extends" ON "access_requests" USING btree ("extends_request_id");