/** The system's health as `status` shows it to admins, on every chat platform. */
export interface SystemStatus {
  unreviewedBreakGlass: Array<{ id: string; databaseId: string; level: string; createdAt: Date }>;
  activeLeases: number;
  queue: Record<string, number>;
  /** Databases of the tenant's catalog that cannot be served (their admin reference does not resolve), with the fix. */
  unavailableDatabases: Array<{ databaseId: string; message: string }>;
  failingRevocations: Array<{ requestId: string; databaseId: string; username: string; expiresAt: Date; attempts: number; lastError: string | null }>;
}
