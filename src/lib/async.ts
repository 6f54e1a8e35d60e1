export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The promise's result, or `onTimeout()` thrown once `ms` have passed (the promise itself runs on). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A module loaded on first use, not at start-up: `ready()` loads it once (true when it loaded; a
 * failure is forgotten, so the next call tries again), `loaded()` is it once ready, else undefined.
 */
export function loadLater<T>(load: () => Promise<T>): { ready(): Promise<boolean>; loaded(): T | undefined } {
  let value: T | undefined;
  let loading: Promise<boolean> | undefined;
  return {
    ready() {
      loading ??= load().then(
        (module) => {
          value = module;
          return true;
        },
        () => {
          loading = undefined;
          return false;
        },
      );
      return loading;
    },
    loaded: () => value,
  };
}

/**
 * A cache of values that never change once they exist (a tenant's id, a user's id), loaded once per
 * key however many ask at the same moment: the first caller's `load` runs and its promise is shared
 * (single flight) and kept. A failure, or a value `keep` refuses, is not kept: the next caller loads.
 */
export function onceEach<V>(keep: (value: V) => boolean = () => true): (key: string, load: () => Promise<V>) => Promise<V> {
  const cache = new Map<string, Promise<V>>();
  return (key, load) => {
    const cached = cache.get(key);
    if (cached) return cached;
    const loading = load();
    cache.set(key, loading);
    loading.then(
      (value) => {
        if (!keep(value)) cache.delete(key);
      },
      () => cache.delete(key),
    );
    return loading;
  };
}

/**
 * Urgent work ahead of work that can wait: a chat acknowledgement has to reach the platform within
 * its deadline (Slack: 3 s), and under a burst the work that follows the acknowledgements already sent
 * (a delivery to claim, a form to open, a decision to store) would otherwise take the process's time
 * from the requests still arriving. `begin()` marks urgent work as it arrives and returns its end
 * (idempotent); `idle()` resolves once no urgent work is under way and none has begun for `quietMs`
 * (the burst has stopped arriving: an acknowledgement that needs no round trip ends in the same turn
 * it began, so "none under way" alone would never hold anything back), or after `maxWaitMs`, so that
 * a flood never starves the rest. A waiter may set its own limit (`idle(ms)`): work with a deadline
 * of its own (a trigger id) waits less than work with none. Waiters go in the order of their deadlines.
 */
export function urgentFirst(maxWaitMs = 1000, quietMs = 20): { begin(): () => void; idle(waitMs?: number): Promise<void>; readonly running: number } {
  let running = 0;
  let lastBegun = Number.NEGATIVE_INFINITY;
  let waiting: Array<{ resolve: () => void; deadline: number }> = [];
  let timer: NodeJS.Timeout | undefined;
  const quiet = (now: number) => running === 0 && now - lastBegun >= quietMs;
  const release = (count: number) => {
    const go = waiting.slice(0, count);
    waiting = waiting.slice(count);
    for (const waiter of go) waiter.resolve();
  };
  // One timer for every waiter: at the end of the quiet spell, or at the first waiter's deadline.
  const schedule = () => {
    if (timer || waiting.length === 0) return;
    const now = performance.now();
    const untilQuiet = running > 0 ? quietMs : lastBegun + quietMs - now;
    timer = setTimeout(check, Math.max(0, Math.min(untilQuiet, waiting[0]!.deadline - now)));
  };
  const check = () => {
    timer = undefined;
    const now = performance.now();
    if (quiet(now)) return release(waiting.length);
    // Those whose wait is over go anyway.
    const notDue = waiting.findIndex((waiter) => waiter.deadline > now);
    release(notDue === -1 ? waiting.length : notDue);
    schedule();
  };
  return {
    begin() {
      running += 1;
      lastBegun = performance.now();
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        running -= 1;
      };
    },
    idle(waitMs = maxWaitMs) {
      if (quiet(performance.now())) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const deadline = performance.now() + waitMs;
        // Kept in deadline order (equal deadlines in the order they asked): the first due is first.
        const at = waiting.findIndex((waiter) => waiter.deadline > deadline);
        waiting.splice(at === -1 ? waiting.length : at, 0, { resolve, deadline });
        if (timer && at === 0) {
          clearTimeout(timer);
          timer = undefined;
        }
        schedule();
      });
    },
    get running() {
      return running;
    },
  };
}
