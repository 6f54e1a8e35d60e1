import { formatTime } from '../../lib/time.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import { clientCommand, clientName, connectionUri, type Credentials } from '../../modules/credentials/credentials.js';
import { cancellable, closedLine, leftOutLine, readyLine, receivedLine, revokedLine } from '../core/request-presenter.js';
import { cancelButton } from './slack-approval-card.js';
import { IDS, confirmEnd, context, mrkdwn, plain, section, type Block } from './slack-kit.js';
import { escapeMrkdwn, mrkdwnOf, slackLine } from './slack-rich.js';

/**
 * Slack: the requester's messages, by direct message: the receipt, the outcome, the credentials (the
 * only copy of the password: shown verbatim, it is ours), and their end.
 */

/** The requester's receipt, with Cancel while the request waits. */
export function receivedBlocks(view: RequestView, approvers: string[]): { text: string; blocks: Block[] } {
  const text = receivedText(view, approvers);
  const cancel: Block[] = cancellable(view) ? [{ type: 'actions', block_id: `received-${view.id}`, elements: [cancelButton(view)] }] : [];
  return { text, blocks: [section(text), ...cancel] };
}

export function receivedText(view: RequestView, approvers: string[]): string {
  return slackLine(receivedLine(view, approvers));
}

export function closedText(view: RequestView): string {
  // Slack's closing message has always been words alone, without the presenter's icon.
  const closed = closedLine(view, { command: '/dbaccess' });
  return `${mrkdwnOf(closed.line.text, { inline: true })}${closed.reason ? ` ${escapeMrkdwn(closed.reason)}` : ''}`;
}

export function credentialsBlocks(view: RequestView, c: Credentials): { text: string; blocks: Block[] } {
  const uri = connectionUri(c);
  return {
    text: `Your access to ${view.databaseId} is ready${view.lease?.firstLoginBy && !view.lease.firstLoginAt ? ': its time starts when you first connect' : ` until ${formatTime(c.expiresAt)}`}.`,
    blocks: [
      section(slackLine(readyLine(view, c.expiresAt))),
      {
        type: 'section',
        fields: [
          mrkdwn(`*Host*\n\`${c.host}\``), mrkdwn(`*Port*\n\`${c.port}\``),
          mrkdwn(`*Database*\n\`${c.database}\``), mrkdwn(`*User*\n\`${c.username}\``),
          mrkdwn(`*Password*\n\`${c.password.reveal()}\``),
        ],
      },
      section(`*URI*\n\`\`\`${uri}\`\`\``),
      section(`*${clientName(c)}*\n\`\`\`${clientCommand(c)}\`\`\``),
      ...(leftOutLine(view) ? [context(mrkdwnOf(leftOutLine(view)!))] : []),
      context('This message is the only copy of the password. At expiry the user is dropped and open sessions are closed.'),
      {
        type: 'actions',
        block_id: `end-${view.id}`,
        elements: [
          { type: 'button', action_id: IDS.extend, text: plain('Extend'), value: view.id },
          { type: 'button', action_id: IDS.end, style: 'danger', text: plain('End access now'), value: view.id, confirm: confirmEnd('End your access now? Open sessions are killed.') },
        ],
      },
    ],
  };
}

export function waitingBlocks(view: RequestView): { text: string; blocks: Block[] } {
  return {
    text: `Your access to ${view.databaseId} is ready; reveal it with your MFA code.`,
    blocks: [
      section(slackLine(readyLine(view, view.lease!.expiresAt, { needsMfa: true }))),
      {
        type: 'actions',
        block_id: `reveal-${view.id}`,
        elements: [
          { type: 'button', action_id: IDS.reveal, style: 'primary', text: plain('Reveal'), value: view.id },
          { type: 'button', action_id: IDS.end, style: 'danger', text: plain('End access now'), value: view.id, confirm: confirmEnd('End your access now? Open sessions are killed.') },
        ],
      },
    ],
  };
}

export function revokedBlocks(view: RequestView): { text: string; blocks: Block[] } {
  return { text: `Your access to ${view.databaseId} has ended.`, blocks: [section(slackLine(revokedLine(view)))] };
}
