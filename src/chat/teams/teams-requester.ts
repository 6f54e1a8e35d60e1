import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import { clientCommand, clientName, connectionUri, type Credentials } from '../../modules/credentials/credentials.js';
import { cancellable, closedLine, extendedLine, leftOutLine, readyLine, receivedLine, revokedLine } from '../core/request-presenter.js';
import { INPUTS } from './teams-actions.js';
import type { AdaptiveCard, ShowCardAction } from './teams-card-types.js';
import { fitCard } from './teams-fit.js';
import { cancelAction, card, code, confirmed, execute, heading, notice, requestData, subCard, subtle, text, valueRow } from './teams-kit.js';
import { md, paragraphs, richMarkdown, teamsLine } from './teams-markdown.js';

/**
 * Teams: the requester's messages in their 1:1 chat with the bot: the receipt, the outcome, the
 * credentials (waiting -> shown -> ended, one message replaced in place).
 */

export function requestReceivedCard(view: RequestView, approvers: string[] = []): AdaptiveCard {
  return fitCard(card([text(teamsLine(receivedLine(view, approvers)))], cancellable(view) ? [cancelAction(view, 'received')] : []));
}

export function requestClosedCard(view: RequestView): AdaptiveCard {
  const closed = closedLine(view);
  return notice(text(teamsLine(closed.line)), ...(closed.reason ? [text(paragraphs(closed.reason), { spacing: 'Small' })] : []));
}

const endMyAccess = (view: RequestView): ShowCardAction =>
  confirmed('End access now', 'End your access now? Open sessions are killed.', execute('end', 'End access now', { ...requestData(view), from: 'credentials' }, 'destructive'));

/** The secret: shown once, in this message only, until the access ends and the message is replaced. */
export function credentialsCard(view: RequestView, c: Credentials): AdaptiveCard {
  const extend: ShowCardAction = {
    type: 'Action.ShowCard',
    title: 'Extend',
    card: subCard(
      [
        { type: 'Input.Text', id: INPUTS.duration, label: 'More time', value: '30m', maxLength: 20, isRequired: true, errorMessage: 'A duration such as 30m or 1h.' },
        text(md`Within the database's limit it is applied at once; beyond that, approvers decide.`, { isSubtle: true, size: 'Small', spacing: 'None' }),
        { type: 'Input.Text', id: INPUTS.reason, label: 'Why (for approvers, if needed)', isMultiline: true, maxLength: 1000 },
      ],
      [execute('extend', 'Extend', requestData(view), 'positive')],
    ),
  };
  return fitCard(card(
    [
      text(teamsLine(readyLine(view, c.expiresAt))),
      valueRow('Host', c.host),
      valueRow('Port', String(c.port)),
      valueRow('Database', c.database),
      valueRow('User', c.username),
      valueRow('Password', c.password.reveal()),
      heading('URI'),
      code(connectionUri(c)),
      heading(clientName(c)),
      code(clientCommand(c)),
      ...(leftOutLine(view) ? [subtle(richMarkdown(leftOutLine(view)!))] : []),
      subtle(md`This message is the only copy of the password. At expiry the user is dropped and open sessions are closed.`),
    ],
    [extend, endMyAccess(view)],
    { fullWidth: true },
  ));
}

/** Access is ready behind a second factor: the code reveals the credentials in this same message. */
export function credentialsWaitingCard(view: RequestView): AdaptiveCard {
  const reveal: ShowCardAction = {
    type: 'Action.ShowCard',
    title: 'Reveal',
    style: 'positive',
    card: subCard(
      [{ type: 'Input.Text', id: INPUTS.code, label: 'MFA code', placeholder: '123456', maxLength: 20, isRequired: true, errorMessage: 'Enter the code from your authenticator app.' }],
      [execute('reveal', 'Reveal', requestData(view), 'positive')],
    ),
  };
  return fitCard(card(
    [text(teamsLine(readyLine(view, view.lease?.expiresAt, { needsMfa: true })))],
    [reveal, endMyAccess(view)],
  ));
}

/** Replaces the credentials message once the access has ended: no password is left in the chat. */
export function credentialsRevokedCard(view: RequestView): AdaptiveCard {
  return notice(text(teamsLine(revokedLine(view))));
}

export function accessExtendedCard(view: RequestView): AdaptiveCard {
  return notice(text(teamsLine(extendedLine(view))));
}
