import { plainText, visible, type RichValue } from '../../lib/rich-text.js';
import type { Line } from '../core/request-presenter.js';

/**
 * Rich text for the console: plain text, people as `@id`, no markup of any platform. The page puts it
 * in the DOM as text (never as HTML); bidi and other invisible controls are removed here.
 */
export const consoleText = (value: RichValue): string => visible(plainText(value));
export const consoleLine = (line: Line): string => consoleText(line.text);
/** A status line's segments, joined with ` · `. */
export const consoleSegments = (lines: readonly Line[]): string => lines.map(consoleLine).join(' · ');
