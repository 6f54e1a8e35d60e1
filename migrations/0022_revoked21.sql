-- A revocation tried again (the state database went away after its event was committed, before the lease
-- was marked) looks up whether the lease has its lease.revoked event already: the report index covers
-- that action too, so the look-up reads a few index entries, not the tenant's log.
DROP INDEX IF EXISTS audit_events_report_subject;
--> statement-breakpoint
CREATE INDEX audit_events_report_subject ON audit_events USING btree (tenant_id, subject)
  WHERE action IN ('request.approved', 'request.approval_recorded', 'lease.extended', 'lease.revoked');
