import { randomBytes } from 'node:crypto';

/** Bytes kept in memory under a random, unguessable name for a few minutes. */
export function createShortLivedFiles({ ttlMs }: { ttlMs: number }) {
  const files = new Map<string, { data: Buffer; expiresAt: number }>();
  const sweep = () => {
    const now = Date.now();
    for (const [name, file] of files) if (file.expiresAt <= now) files.delete(name);
  };
  return {
    put(data: Buffer): string {
      sweep();
      const name = randomBytes(24).toString('base64url');
      files.set(name, { data, expiresAt: Date.now() + ttlMs });
      return name;
    },
    get(name: string): Buffer | undefined {
      sweep();
      return files.get(name)?.data;
    },
  };
}

export type ShortLivedFiles = ReturnType<typeof createShortLivedFiles>;
