/**
 * Slack Block Kit for every screen dbaccess shows, one file per screen; this module gathers them for
 * the adapter's listeners. Pure: data in, blocks out; every text is rendered by slack-rich.
 */
export { IDS, type Block } from './slack-kit.js';
export { denyModal, extendModal, fieldBlockId, mfaEnrollmentBlocks, mfaModal, requestModal, type FormAnalysis, type FormState } from './slack-form.js';
export { approvalCard, approvalCardText, parseButtonValue } from './slack-approval-card.js';
export { closedText, credentialsBlocks, receivedBlocks, receivedText, revokedBlocks, waitingBlocks } from './slack-requester.js';
export { activeText, breakGlassText, configProblemText, databaseAvailableText, databaseUnavailableText, extendedText, failingText, flaggedText, mfaAlertText, offboardedText, summaryBlocks } from './slack-thread.js';
