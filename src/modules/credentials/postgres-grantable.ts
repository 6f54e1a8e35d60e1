/**
 * Kept for the chat renderers (slack-blocks.ts, teams-cards.ts, console-notifier.ts), which import
 * leftOutSentence from here; the grantable set itself is in engines/postgres/grantable.ts. At merge:
 * point those imports at left-out.ts and delete this file.
 */
export { leftOutSentence } from './left-out.js';
