CREATE TABLE "database_notices" (
	"database_id" text NOT NULL,
	"platform" text NOT NULL,
	"problem" text NOT NULL,
	"noticed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "database_notices_database_id_platform_pk" PRIMARY KEY("database_id","platform")
);
