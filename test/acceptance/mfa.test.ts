import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platforms, type PlatformDriver } from './drivers/index.js';
import { logIn, requestState, waitForState, waitUserGone } from './effects.js';

/**
 * The second factor, the same on every chat platform, under a policy that asks for it on every
 * approval and reveal: set-up, step-up on approval, Reveal of the credentials, an admin's reset and
 * break-glass (access at once, an alert, a review), a lockout after wrong codes; resets and lockouts announced to the approvers.
 */

/** Waits until the current 30 s step has a few seconds left, so two codes of one test stay in their steps. */
async function clearOfStepEnd(): Promise<void> {
  while (Date.now() % 30_000 > 24_000) await new Promise((resolve) => setTimeout(resolve, 250));
}
/** The code of the step before the current one (accepted within the tolerated skew), leaving the current one unused. */
async function earlierCode(secret: string): Promise<string> {
  await clearOfStepEnd();
  return generate({ secret, epoch: Math.floor((Date.now() - 30_000) / 1000) });
}
/** The next step's code (within the tolerated skew): unused even when the current step's code was just used. */
async function nextStepCode(secret: string): Promise<string> {
  await clearOfStepEnd();
  return generate({ secret, epoch: Math.floor((Date.now() + 30_000) / 1000) });
}
async function currentCode(secret: string): Promise<string> {
  await clearOfStepEnd();
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) });
}

describe.each(platforms)('MFA on $platform', ({ start }) => {
  let d: PlatformDriver;
  let approverSecret: string;
  let approved: string;
  let requesterSecret: string;

  beforeAll(async () => {
    d = await start({ mfa: 'always' });
  });
  afterAll(async () => {
    await d?.close();
  });

  it('enrol: the approver is shown a key, a wrong first code is refused, the right one turns MFA on with recovery codes', async () => {
    const enrolment = await d.enrolMfa('approver');
    expect(enrolment.secret).toMatch(/^[A-Z2-7]{16,}$/);
    await (await enrolment.confirm('000000')).says(/did not match/);
    const on = await (await enrolment.confirm(await earlierCode(enrolment.secret))).says(/MFA is (on|set up)/);
    expect(on).toMatch(/recovery codes/i);
    approverSecret = enrolment.secret;
  });

  it('approve with step-up: the card asks for a code; a wrong one changes nothing; the right one approves', async () => {
    const { id } = await d.submit({ reason: 'Step-up: count the failed payouts of last night' });
    const card = await d.card(id);
    expect(card.text).toMatch(/MFA/);
    await (await d.press('approver', 'approve', id, 'card', { code: '000000' })).says(/did not match/);
    expect(await requestState(d, id)).toBe('pending');
    await d.press('approver', 'approve', id, 'card', { code: await currentCode(approverSecret) });
    const decided = await d.waitCard(id, (c) => /Approved by/.test(c.text), 'the card approved');
    expect(decided.buttons).not.toContain('approve');
    approved = id;
  });

  it('reveal: the credentials wait behind the requester\'s own code; Reveal with it shows credentials that work', async () => {
    expect(approved, 'the approval with step-up before').toBeDefined();
    const waiting = await d.credentials(approved);
    expect(waiting.uri).toBeUndefined();
    expect(waiting.buttons).toContain('reveal');
    const enrolment = await d.enrolMfa('requester');
    await (await enrolment.confirm(await earlierCode(enrolment.secret))).says(/MFA is (on|set up)/);
    requesterSecret = enrolment.secret;
    await (await d.press('requester', 'reveal', approved, 'credentials', { code: '000000' })).says(/did not match/);
    await d.press('requester', 'reveal', approved, 'credentials', { code: await currentCode(enrolment.secret) });
    await expect.poll(async () => (await d.credentials(approved)).uri, { timeout: 10_000 }).toMatch(/^postgresql:\/\//);
    const { uri, buttons } = await d.credentials(approved);
    const session = await logIn(uri!);
    expect((await session.query('SELECT count(*)::int AS n FROM sales.orders')).rows[0].n).toBe(2);
    expect(buttons).toContain('end');
    await d.press('requester', 'end', approved, 'credentials');
    await waitUserGone(d, uri!, session);
    await waitForState(d, approved, 'revoked');
  });

  it('break-glass: access at once (after the requester\'s code); the approvers are alerted; the card and the status show it until an approver marks it reviewed', async () => {
    expect(requesterSecret, 'the requester enrolled in the reveal case').toBeDefined();
    const { id } = await d.submit({ reason: 'Break-glass: the payouts job is down, check its last run', breakGlass: true });
    // Taken at once, behind the requester's own second factor.
    const waiting = await d.credentials(id);
    expect(waiting.buttons).toContain('reveal');
    await d.press('requester', 'reveal', id, 'credentials', { code: await nextStepCode(requesterSecret) });
    await expect.poll(async () => (await d.credentials(id)).uri, { timeout: 10_000 }).toMatch(/^postgresql:\/\//);
    const breakUri = (await d.credentials(id)).uri;
    const open = await logIn(breakUri!);
    await expect.poll(async () => (await d.channel()).some((m) => /break-glass/i.test(m.text) && m.text.includes(id) && !m.buttons.length), { timeout: 10_000 }).toBe(true);
    const card = await d.waitCard(id, (c) => c.buttons.includes('review'), 'Mark reviewed on the card');
    expect(card.text).toMatch(/without approval/i);
    expect(await (await d.command('approver', 'status')).says(/Break-glass/)).toMatch(new RegExp(`Break-glass access not yet reviewed: ${id}`));

    await d.press('approver', 'review', id, 'card');
    const reviewed = await d.waitCard(id, (c) => !c.buttons.includes('review'), 'the card reviewed');
    // The card still says how the access was taken, and who reviewed it.
    expect(reviewed.text).toMatch(/break-glass/i);
    expect(reviewed.text).toMatch(/reviewed by/i);
    expect(await (await d.command('approver', 'status')).says(/Break-glass/)).toMatch(/Break-glass: all reviewed/);

    await d.press('requester', 'end', id, 'credentials');
    await waitUserGone(d, breakUri!, open);
  });

  it('reset: an admin resets the requester\'s MFA; the approvers are alerted; the requester must enrol again', async () => {
    await (await d.command('approver', `mfa reset ${d.mention('requester')}`)).says(/reset/);
    // Enrolled no more: the set-up starts again with a new key.
    const again = await d.enrolMfa('requester');
    expect(again.secret).toMatch(/^[A-Z2-7]{16,}$/);
    await expect.poll(async () => (await d.channel()).some((m) => /MFA of .+ was reset by/.test(m.text)), { timeout: 10_000 }).toBe(true);
  });

  it('lockout: five wrong codes lock the approver\'s MFA, even the right code is then refused, and the approvers are alerted', async () => {
    const { id } = await d.submit({ reason: 'Lockout: check the refunds of last week' });
    await d.card(id);
    let locked = '';
    for (let attempt = 0; attempt < 5 && !locked; attempt++) {
      const told = await d.press('approver', 'approve', id, 'card', { code: '000000' });
      locked = await told.says(/did not match|locked/).then((text) => (/locked/.test(text) ? text : ''));
    }
    expect(locked).toMatch(/Too many wrong codes: MFA is locked until/);
    await (await d.press('approver', 'approve', id, 'card', { code: await currentCode(approverSecret) })).says(/locked/);
    expect(await requestState(d, id)).toBe('pending');
    await expect.poll(async () => (await d.channel()).some((m) => /MFA of .+ is locked after too many wrong codes/.test(m.text)), { timeout: 10_000 }).toBe(true);
  });
});
