import type { RequestDraft } from '../../modules/access-requests/access-request-types.js';
import type { DraftAnalysisOutcome } from '../../modules/analysis/analysis-service.js';

/** What a request form shows besides its inputs: the analysis of its content, while running or when done. */
export type FormAnalysis =
  | { state: 'running' }
  | { state: 'done'; outcome: DraftAnalysisOutcome }
  | { state: 'applied'; text: string };

/** A request form as every adapter draws it: what it holds and what its analysis says. */
export interface FormState {
  draft?: RequestDraft | undefined;
  analysis?: FormAnalysis | undefined;
}
