import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SCRAM_ITERATIONS, scramSha256Verifier } from './scram.js';

const FORMAT = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

function parse(verifier: string) {
  const match = FORMAT.exec(verifier);
  if (!match) throw new Error(`not a SCRAM verifier: ${verifier}`);
  return {
    iterations: Number(match[1]),
    salt: Buffer.from(match[2]!, 'base64'),
    storedKey: Buffer.from(match[3]!, 'base64'),
    serverKey: Buffer.from(match[4]!, 'base64'),
  };
}

describe('scramSha256Verifier', () => {
  it('lets a server holding only the verifier check the RFC 7677 example exchange', async () => {
    // RFC 7677 section 3: user "user", password "pencil". The client's proof and the server's
    // signature in the RFC were computed independently of this code.
    const verifier = await scramSha256Verifier('pencil', { salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), iterations: 4096 });
    const { storedKey, serverKey } = parse(verifier);
    const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
    const clientProof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');

    // What the server does: recover ClientKey from the proof and compare its hash with StoredKey.
    const clientSignature = createHmac('sha256', storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(clientProof.map((byte, index) => byte ^ clientSignature[index]!));
    expect(createHash('sha256').update(clientKey).digest().equals(storedKey)).toBe(true);
    // And the signature the server sends back must be the RFC's.
    expect(createHmac('sha256', serverKey).update(authMessage).digest('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });

  it('rejects a wrong password under the same exchange', async () => {
    const verifier = await scramSha256Verifier('pencil2', { salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64') });
    const { serverKey } = parse(verifier);
    const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
    expect(createHmac('sha256', serverKey).update(authMessage).digest('base64')).not.toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });

  it('uses PostgreSQL’s format with 4096 iterations and a fresh 16-byte salt each time', async () => {
    const first = await scramSha256Verifier('correct horse battery staple');
    const second = await scramSha256Verifier('correct horse battery staple');
    const a = parse(first);
    const b = parse(second);
    expect(a.iterations).toBe(SCRAM_ITERATIONS);
    expect(SCRAM_ITERATIONS).toBe(4096);
    expect(a.salt).toHaveLength(16);
    expect(a.storedKey).toHaveLength(32);
    expect(a.serverKey).toHaveLength(32);
    expect(a.salt.equals(b.salt)).toBe(false);
    expect(first).not.toBe(second);
    expect(first).not.toContain('correct horse');
  });

  it('refuses passwords it cannot hash the way PostgreSQL will at login', async () => {
    await expect(scramSha256Verifier('')).rejects.toThrow(/non-empty/);
    await expect(scramSha256Verifier('pässword')).rejects.toThrow(/ASCII/);
  });
});
