import { ADAPTIVE_CARD_CONTENT_TYPE, type AdaptiveCard, type CardAction, type CardAttachment, type CardElement } from './teams-card-types.js';

/** Teams refuses messages over 28 KB: every card is cut to fit, visibly, its buttons kept. */

/** Teams refuses messages over 28 KB; the activity around the card needs the rest. */
export const TEAMS_CARD_LIMIT_BYTES = 26 * 1024;
export const CUT_MARKER = ' … (cut)';
const MIN_KEEP = 80;

export const cardBytes = (value: AdaptiveCard) => Buffer.byteLength(JSON.stringify(value), 'utf8');
const jsonBytes = (value: string) => Buffer.byteLength(JSON.stringify(value), 'utf8') - 2;

interface TextSlot {
  get(): string;
  set(value: string): void;
}

/** Every text a card shows (TextBlocks, monospace runs, fact values), nested cards included. */
function textSlots(target: AdaptiveCard): TextSlot[] {
  const slots: TextSlot[] = [];
  const visitActions = (actions: CardAction[] | undefined) => {
    for (const action of actions ?? []) if (action.type === 'Action.ShowCard') visitCard(action.card);
  };
  const visit = (element: CardElement) => {
    switch (element.type) {
      case 'TextBlock':
        slots.push({ get: () => element.text, set: (value) => { element.text = value; } });
        break;
      case 'RichTextBlock':
        for (const run of element.inlines) slots.push({ get: () => run.text, set: (value) => { run.text = value; } });
        break;
      case 'FactSet':
        for (const fact of element.facts) slots.push({ get: () => fact.value, set: (value) => { fact.value = value; } });
        break;
      case 'Container':
        element.items.forEach(visit);
        break;
      case 'ColumnSet':
        for (const column of element.columns) column.items.forEach(visit);
        break;
      case 'ActionSet':
        visitActions(element.actions);
        break;
      default:
        break;
    }
  };
  const visitCard = (inner: AdaptiveCard) => {
    inner.body.forEach(visit);
    visitActions(inner.actions);
  };
  visitCard(target);
  return slots;
}

/** The first `keep` characters, not splitting a surrogate pair nor leaving an escape backslash dangling. */
function cut(value: string, keep: number): string {
  let end = Math.max(0, Math.min(keep, value.length));
  if (end > 0 && /[\ud800-\udbff]/.test(value.charAt(end - 1))) end -= 1;
  return value.slice(0, end).replace(/\\+$/, '').trimEnd() + CUT_MARKER;
}

/**
 * Shrinks a card until its JSON is under `limit` bytes: the longest text first (the SQL preview, a long
 * reason or scope), each cut ending with a visible "(cut)". Returns a copy; the input is left alone.
 */
export function fitCard(input: AdaptiveCard, limit = TEAMS_CARD_LIMIT_BYTES): AdaptiveCard {
  if (cardBytes(input) <= limit) return input;
  const result = structuredClone(input);
  for (let round = 0; round < 200; round++) {
    const excess = cardBytes(result) - limit;
    if (excess <= 0) break;
    const slots = textSlots(result).map((slot) => ({ slot, bytes: jsonBytes(slot.get()) }));
    const longest = slots.sort((a, b) => b.bytes - a.bytes)[0];
    if (!longest || longest.bytes <= MIN_KEEP + CUT_MARKER.length) break;
    const current = longest.slot.get();
    const original = current.endsWith(CUT_MARKER) ? current.slice(0, -CUT_MARKER.length) : current;
    // Bytes per character of this text as JSON (escapes and multi-byte characters weigh more).
    const weight = longest.bytes / Math.max(1, current.length);
    const wanted = Math.floor((longest.bytes - excess - 64) / weight) - CUT_MARKER.length;
    const keep = Math.max(MIN_KEEP, Math.min(wanted, Math.floor(original.length / 2)));
    longest.slot.set(cut(original, keep));
  }
  return result;
}


export const attachment = (card: AdaptiveCard): CardAttachment => ({ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: fitCard(card) });
