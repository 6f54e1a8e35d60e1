CREATE TABLE "installation" (
	"singleton" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "installation_singleton" CHECK (singleton),
	CONSTRAINT "installation_id_format" CHECK (id ~ '^[a-z2-7]{8}$')
);
--> statement-breakpoint
-- Made once and kept: the app may read it and make it (INSERT ... ON CONFLICT DO NOTHING), never change it.
REVOKE UPDATE, DELETE, TRUNCATE ON installation FROM dbaccess_app;
