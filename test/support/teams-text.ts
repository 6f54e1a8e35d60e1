/** Everything a Teams message or an invoke's answer shows as text: its card's TextBlocks, facts, runs and actions. */
export function shownIn(message: { text?: string | undefined; attachments?: Array<{ content?: unknown }> | undefined } | undefined): string {
  const parts: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') for (const [key, inner] of Object.entries(value)) if (['text', 'title', 'value', 'body', 'items', 'columns', 'facts', 'inlines', 'content', 'card', 'actions'].includes(key)) walk(inner);
  };
  walk(message?.text);
  walk(message?.attachments?.map((attachment) => attachment.content));
  return parts.join('\n').replace(/\\([*_[\]`~#\-+=|.)\\])/g, '$1');
}
