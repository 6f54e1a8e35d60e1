import type { CatalogView } from '../../config/catalog.js';
import type { RequestDraft } from '../../modules/access-requests/access-request-types.js';
import type { DraftAnalysisOutcome } from '../../modules/analysis/analysis-service.js';
import type { AdminAvailability, Unavailable } from '../../modules/credentials/admin-availability.js';

/** What a request form shows besides its inputs: the analysis of its content, while running or when done. */
export type FormAnalysis =
  | { state: 'running' }
  | { state: 'done'; outcome: DraftAnalysisOutcome }
  | { state: 'applied'; text: string };

/** The databases of a form that cannot be served now (their admin reference does not resolve), by id. */
export type UnavailableDatabases = ReadonlyMap<string, Unavailable>;

/** A request form as every adapter draws it: what it holds, what its analysis says, which databases it cannot offer. */
export interface FormState {
  draft?: RequestDraft | undefined;
  analysis?: FormAnalysis | undefined;
  unavailable?: UnavailableDatabases | undefined;
}

/** The unavailable databases of a tenant's catalog, as a form takes them (none when nobody knows). */
export const unavailableIn = (catalog: CatalogView, availability: Pick<AdminAvailability, 'in'> | undefined): UnavailableDatabases =>
  new Map((availability?.in(catalog) ?? []).map((problem) => [problem.databaseId, problem]));

/** The text of a database in a form's list: `orders (production)`, or `orders (unavailable: ORDERS_ADMIN_URL is not set)`. */
export function databaseChoice(database: { id: string; environment: string }, unavailable: UnavailableDatabases | undefined, max = 200): string {
  const problem = unavailable?.get(database.id)?.problem;
  const label = problem ? `${database.id} (unavailable: ${problem})` : `${database.id} (${database.environment})`;
  return label.length > max ? `${label.slice(0, max - 2)}…)` : label;
}
