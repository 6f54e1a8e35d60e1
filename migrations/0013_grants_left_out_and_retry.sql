ALTER TABLE "access_requests" ADD COLUMN "left_out" jsonb;--> statement-breakpoint
ALTER TABLE "access_requests" ADD COLUMN "retried_at" timestamp with time zone;