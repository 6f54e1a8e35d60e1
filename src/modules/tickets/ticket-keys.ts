import type { TrackerName } from './ticket-types.js';

/**
 * The ticket a requester wrote, as the tracker's key: `OPS-12` or a Jira/Linear link for Jira and
 * Linear; `owner/repo#12`, `#12` (in the configured repository) or an issue link for GitHub.
 * Undefined when it cannot be one (the refusal says how to write it).
 */
export function ticketKey(tracker: TrackerName, written: string, options: { repository?: string | undefined } = {}): string | undefined {
  const text = written.trim();
  if (text.length === 0 || text.length > 300) return undefined;
  switch (tracker) {
    case 'jira': {
      const match = /(?:^|\/browse\/)([A-Za-z][A-Za-z0-9_]{0,49}-\d{1,12})(?:$|[/?#])/.exec(text);
      return match ? match[1]!.toUpperCase() : undefined;
    }
    case 'linear': {
      const match = /(?:^|\/issue\/)([A-Za-z][A-Za-z0-9]{0,9}-\d{1,12})(?:$|[/?#])/.exec(text);
      return match ? match[1]!.toUpperCase() : undefined;
    }
    case 'github': {
      const link = /^https?:\/\/[^/]+\/([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)\/issues\/(\d{1,9})(?:$|[/?#])/.exec(text);
      if (link) return `${link[1]}#${Number(link[2])}`;
      const full = /^([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)#(\d{1,9})$/.exec(text);
      if (full) return `${full[1]}#${Number(full[2])}`;
      const short = /^#?(\d{1,9})$/.exec(text);
      return short && options.repository ? `${options.repository}#${Number(short[1])}` : undefined;
    }
  }
}

/** How a key of this tracker is written, for a refusal. */
export const keyExample: Record<TrackerName, string> = {
  jira: 'a Jira issue key such as OPS-123 (or its link)',
  linear: 'a Linear issue id such as ENG-123 (or its link)',
  github: 'a GitHub issue such as acme/ops#123 (or its link)',
};

export const trackerTitle: Record<TrackerName, string> = { jira: 'Jira', linear: 'Linear', github: 'GitHub' };
