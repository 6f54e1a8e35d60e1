/**
 * The least a Teams activity has: a type, the service URL to answer on, who sent it, in which
 * conversation and Microsoft 365 tenant (every dbaccess listener runs in a tenant's scope). Anything
 * else is refused with a 400 before the adapter (which would throw on it and answer 500) or the bot
 * sees it.
 */
export function isActivity(body: unknown): boolean {
  if (!isObject(body)) return false;
  const text = (value: unknown, max: number) => typeof value === 'string' && value.length > 0 && value.length <= max;
  const tenant = isObject(body.conversation) && text(body.conversation.tenantId, 100) ? body.conversation.tenantId
    : isObject(body.channelData) && isObject(body.channelData.tenant) ? body.channelData.tenant.id : undefined;
  return text(body.type, 64) && text(body.serviceUrl, 2000) && isObject(body.conversation) && text(body.conversation.id, 1000) && isObject(body.from) && text(body.from.id, 1000) && text(tenant, 100);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
