import type { RiskInput, RiskLevel } from '../src/modules/risk/risk-types.js';

/**
 * What the eval rates requests with: the rules, or a model. The context carries what RiskInput does
 * not (the level's own name, the scope as written) for an analyzer that wants the full request. A
 * model's answer also says what the model itself said and what the rules said, for the disagreement
 * count; undefined leaves the case out (no written answer for it).
 */
export type RateRequest = (
  input: RiskInput,
  context: { id: string; levelName: string; scope: string[] },
) => Promise<{ level: RiskLevel; model?: RiskLevel; rules?: RiskLevel } | undefined>;
