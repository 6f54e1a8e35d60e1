import type { MessageRef } from '../../db/schema/access-requests.js';
import type { Logger } from '../../lib/logger.js';
import type { Platform } from '../../modules/tenants/tenant-service.js';
import type { ChatNotifier, Notification } from './notifications.js';

/**
 * One notifier over every adapter: a request's notification goes to the platform of its tenant, a
 * form's to the platform that shows it, a person's MFA notice to their tenant's, a database's
 * availability to the platform it names, and a broken catalog to every adapter. Nothing is dropped silently: a notification no adapter can show is logged.
 */
export function routeNotifications({ adapters, platformOf, logger }: {
  adapters: Partial<Record<Platform, ChatNotifier>>;
  platformOf: (tenantId: string) => Promise<Platform | undefined>;
  logger: Logger;
}): ChatNotifier {
  const undelivered = (notification: Notification, why: string) => {
    logger.warn({ notification: notification.type, why }, 'notification not delivered');
    return undefined;
  };
  return {
    async send(notification): Promise<MessageRef | undefined> {
      if ('request' in notification) {
        const platform = await platformOf(notification.request.tenantId);
        const adapter = platform && adapters[platform];
        return adapter ? adapter.send(notification) : undelivered(notification, `no ${platform ?? 'known'} adapter for the request's tenant`);
      }
      if (notification.type === 'mfaAlert' || notification.type === 'personOffboarded') {
        const platform = await platformOf(notification.tenantId);
        const adapter = platform && adapters[platform];
        return adapter ? adapter.send(notification) : undelivered(notification, `no ${platform ?? 'known'} adapter for the person's tenant`);
      }
      if (notification.type === 'databaseUnavailable' || notification.type === 'databaseAvailable') {
        const adapter = adapters[notification.platform];
        return adapter ? adapter.send(notification) : undelivered(notification, `no ${notification.platform} adapter`);
      }
      if (notification.type === 'draftAnalysis') {
        const adapter = adapters[notification.viewRef.platform as Platform];
        return adapter ? adapter.send(notification) : undelivered(notification, `no ${notification.viewRef.platform} adapter`);
      }
      const all = Object.values(adapters);
      if (all.length === 0) return undelivered(notification, 'no chat platform configured');
      const refs = await Promise.all(all.map((adapter) => adapter.send(notification)));
      return refs.find(Boolean);
    },
  };
}
