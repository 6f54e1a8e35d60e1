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
 * (a form to open, a decision to store) would otherwise queue in front of the ones still to send.
 * `begin()` marks urgent work and returns its end (idempotent); `idle()` resolves once no urgent work
 * is under way, or after `maxWaitMs`, so that a flood of acknowledgements never starves the rest.
 */
export function urgentFirst(maxWaitMs = 1000): { begin(): () => void; idle(): Promise<void>; readonly running: number } {
  let running = 0;
  let waiting: Array<() => void> = [];
  return {
    begin() {
      running += 1;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        running -= 1;
        if (running > 0) return;
        const go = waiting;
        waiting = [];
        for (const resolve of go) resolve();
      };
    },
    idle() {
      if (running === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          waiting = waiting.filter((fn) => fn !== done);
          resolve();
        }, maxWaitMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        waiting.push(done);
      });
    },
    get running() {
      return running;
    },
  };
}
