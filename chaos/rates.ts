/**
 * How close the load came to Slack's documented rates (the fake's SLACK_RATE_LIMITS, its token buckets):
 * for each method and bucket (a channel, or the method alone for calls without one), the most calls made
 * in any 60 s, 429s included (an attempt is an attempt), against the bucket's rate per minute.
 */
import { SLACK_RATE_LIMITS, type RecordedCall } from '../test/support/fake-slack.js';

export interface RateFigure { method: string; bucket: string; peakPerMin: number; limitPerMin: number; calls: number; limited429: number }

const WINDOW_MS = 60_000;

/** The busiest buckets first (by their peak against their limit), at most `top`. */
export function slackRates(calls: readonly RecordedCall[], top = 8, workspaces = 1): RateFigure[] {
  const buckets = new Map<string, { method: string; bucket: string; at: number[]; limited: number }>();
  for (const call of calls) {
    if (!SLACK_RATE_LIMITS[call.method]) continue;
    const channel = typeof call.args.channel === 'string' ? call.args.channel : undefined;
    const key = `${call.method} ${channel ?? '(no channel)'}`;
    const entry = buckets.get(key) ?? { method: call.method, bucket: channel ?? '(no channel)', at: [], limited: 0 };
    entry.at.push(call.at);
    if (call.status === 429) entry.limited += 1;
    buckets.set(key, entry);
  }
  const figures = [...buckets.values()].map(({ method, bucket, at, limited }) => {
    at.sort((a, b) => a - b);
    let peak = 0;
    for (let start = 0, end = 0; end < at.length; end += 1) {
      while (at[end]! - at[start]! >= WINDOW_MS) start += 1;
      peak = Math.max(peak, end - start + 1);
    }
    // A call without a channel: one bucket for every workspace (the fake's `workspaces`).
    const scale = bucket === '(no channel)' ? workspaces : 1;
    return { method, bucket, peakPerMin: peak, limitPerMin: SLACK_RATE_LIMITS[method]!.perMinute * scale, calls: at.length, limited429: limited };
  });
  return figures.sort((a, b) => b.peakPerMin / b.limitPerMin - a.peakPerMin / a.limitPerMin).slice(0, top);
}
