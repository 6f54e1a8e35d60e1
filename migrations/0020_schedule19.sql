ALTER TABLE "access_requests" ADD COLUMN "starts_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "leases" ADD COLUMN "first_login_by" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "leases" ADD COLUMN "first_login_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "access_requests_waiting_start" ON "access_requests" USING btree ("starts_at") WHERE state IN ('scheduled', 'approved');--> statement-breakpoint
CREATE INDEX "leases_awaiting_login" ON "leases" USING btree ("first_login_by") WHERE first_login_at IS NULL AND revoked_at IS NULL;