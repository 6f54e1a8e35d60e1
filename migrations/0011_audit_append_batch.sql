-- Group commit of the audit log: one call appends several events of one tenant, in the order given,
-- under ONE acquisition of the tenant's chain lock and in one transaction, so a tenant's appends no
-- longer wait for each other's commit one event at a time. Each event is linked exactly as
-- dbaccess_audit_append links one (which stays, for appends inside a caller's own transaction):
-- hash = sha256(prev_hash || ':' || seq || ':' || content_hash). Like it, it runs as the owner (the
-- app's role has no INSERT on audit_events) and refuses a tenant outside the caller's scope.
CREATE FUNCTION dbaccess_audit_append_batch(
  p_tenant uuid, p_actors text[], p_actions text[], p_subjects text[], p_outcomes text[], p_details jsonb[],
  p_created_at timestamptz[], p_content_hashes text[]
) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n integer := coalesce(cardinality(p_content_hashes), 0);
  head_seq bigint;
  head_hash text;
  next_hash text;
  first_seq bigint;
BEGIN
  IF NOT dbaccess_tenant_visible(p_tenant) THEN
    RAISE EXCEPTION 'audit append outside the tenant scope' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF n = 0 OR n > 10000 THEN
    RAISE EXCEPTION 'audit batch needs 1 to 10000 events, got %', n USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF coalesce(cardinality(p_actors), 0) <> n OR coalesce(cardinality(p_actions), 0) <> n OR coalesce(cardinality(p_subjects), 0) <> n
     OR coalesce(cardinality(p_outcomes), 0) <> n OR coalesce(cardinality(p_details), 0) <> n OR coalesce(cardinality(p_created_at), 0) <> n THEN
    RAISE EXCEPTION 'audit batch arrays differ in length' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(p_content_hashes) AS h WHERE h IS NULL OR h !~ '^[0-9a-f]{64}$') THEN
    RAISE EXCEPTION 'audit append needs a sha256 content hash' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant::text, 7));
  SELECT seq, hash INTO head_seq, head_hash FROM audit_events WHERE tenant_id = p_tenant ORDER BY seq DESC LIMIT 1;
  head_seq := coalesce(head_seq, 0);
  head_hash := coalesce(head_hash, repeat('0', 64));
  first_seq := head_seq + 1;
  FOR i IN 1..n LOOP
    head_seq := head_seq + 1;
    next_hash := encode(sha256(convert_to(head_hash || ':' || head_seq::text || ':' || p_content_hashes[i], 'UTF8')), 'hex');
    INSERT INTO audit_events (tenant_id, seq, actor, action, subject, outcome, details, created_at, prev_hash, hash)
    VALUES (p_tenant, head_seq, p_actors[i], p_actions[i], p_subjects[i], p_outcomes[i], p_details[i], p_created_at[i], head_hash, next_hash);
    head_hash := next_hash;
  END LOOP;
  RETURN first_seq;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION dbaccess_audit_append_batch(uuid, text[], text[], text[], text[], jsonb[], timestamptz[], text[]) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION dbaccess_audit_append_batch(uuid, text[], text[], text[], text[], jsonb[], timestamptz[], text[]) TO dbaccess_app;
