-- One statement appends an audit event to its tenant's hash chain: it takes the tenant's chain
-- lock, reads the head and inserts, so the lock is held only until the surrounding transaction
-- commits right after. The event's content is hashed by the app over a canonical form; the chain
-- hash binds it to its place: sha256(prev_hash || ':' || seq || ':' || content_hash).
CREATE FUNCTION dbaccess_audit_append(
  p_tenant uuid, p_actor text, p_action text, p_subject text, p_outcome text, p_details jsonb,
  p_created_at timestamptz, p_content_hash text
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash text;
BEGIN
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
GRANT EXECUTE ON FUNCTION dbaccess_audit_append(uuid, text, text, text, text, jsonb, timestamptz, text) TO dbaccess_app;
