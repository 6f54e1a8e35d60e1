/**
 * Microsoft Teams: Adaptive Card 1.5 for every screen dbaccess shows, buttons as Universal Actions
 * (`Action.Execute`, answered by `onAdaptiveCardInvoke`, which replaces the card in place), one file
 * per screen; this module gathers them for the adapter. Pure: data in, card JSON out. Every message
 * is a card, so one escaping regime covers everything: TextBlocks take `Markdown` built with `md` (or
 * rendered from RichText), which escapes whatever it interpolates; values that must be copied exactly
 * (SQL, credentials) go in RichTextBlock runs, which Teams shows verbatim.
 */
export { Markdown, TEAMS_ICONS, escapeMarkdown, md, mention, paragraphs, richMarkdown, richParagraphs, teamsLine, teamsSegments } from './teams-markdown.js';
export type * from './teams-card-types.js';
export { ADAPTIVE_CARD_CONTENT_TYPE } from './teams-card-types.js';
export { FORM_INPUTS, INPUTS, VERBS } from './teams-actions.js';
export type * from './teams-actions.js';
export { CUT_MARKER, TEAMS_CARD_LIMIT_BYTES, attachment, cardBytes, fitCard } from './teams-fit.js';
export { requestFormCard, type FormAnalysis, type FormState } from './teams-form.js';
export { approvalCard, approvalCardSummary } from './teams-approval-card.js';
export { accessExtendedCard, credentialsCard, credentialsRevokedCard, credentialsWaitingCard, requestClosedCard, requestReceivedCard } from './teams-requester.js';
export { accessActiveCard, breakGlassAlertCard, configProblemCard, databaseAvailableCard, databaseUnavailableCard, mfaAlertCard, offboardedCard, operationFailingCard, sessionFlaggedCard, sessionSummaryCard, type MfaAlert } from './teams-thread.js';
export { renderTeams, teamsRenderers, type TeamsDelivery, type TeamsMessage, type TeamsRenderContext, type TeamsRendererTable } from './teams-renderers.js';
