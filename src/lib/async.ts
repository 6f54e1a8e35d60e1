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
