import type { RichText } from '../../lib/rich-text.js';
import type { Surface } from './commands.js';
import type { Reply, ScreenRenderers } from './replies.js';

/**
 * The inbound half of a chat adapter, as the compiler checks it: how the platform writes commands
 * and people (for the one parser), how it renders rich text (escaped its own way), and one renderer
 * per screen the dispatcher's replies can show. Each adapter declares its own `satisfies InboundAdapter<…>`.
 */
export interface InboundAdapter<ScreenOut> {
  surface: Surface;
  /** Rich text in the platform's markup, every value escaped. */
  renderText(text: RichText): string;
  /** What a reply says, as the platform sends it (undefined when it says nothing). */
  renderReply(reply: Pick<Reply, 'say'>): string | undefined;
  screens: ScreenRenderers<ScreenOut>;
}
