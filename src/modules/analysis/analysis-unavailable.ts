/**
 * Why the model could not be used, in words the card can show. Its own file so that the analysis
 * service can recognise it without loading the model SDK (claude-analyzer loads only with a key).
 */
export class AnalysisUnavailable extends Error {}
