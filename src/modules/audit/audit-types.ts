export interface AuditEvent {
  tenantId: string;
  /** `user:<chat user id>`, `system`, or `job:<name>`. */
  actor: string;
  /** e.g. `request.submitted`, `request.approved`, `lease.revoked`. */
  action: string;
  /** What it is about: `request:<id>`, `lease:<id>`. */
  subject: string;
  outcome: 'success' | 'refused' | 'failure';
  /** Facts for the record; never a secret (no passwords, tokens or connection strings). */
  details?: Record<string, unknown>;
}
