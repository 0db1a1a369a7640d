import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Where webhooks may go (README "Partner webhooks"). Outside APP_ENV=development: https only, and never to a
 * loopback, private, link-local or otherwise internal address (the worker would otherwise be a way into the
 * internal network). In development, http and local receivers are allowed.
 */
export interface WebhookUrlPolicy {
  allowInsecure: boolean;
}

const INTERNAL = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  INTERNAL.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  INTERNAL.addSubnet(net, bits, 'ipv6');
}

/** True for an address no partner endpoint can have (loopback, private, link-local, CGNAT, multicast...). */
export function isInternalAddress(address: string): boolean {
  const version = isIP(address);
  if (version === 0) return false;
  if (version === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return INTERNAL.check(mapped[1], 'ipv4');
    return INTERNAL.check(address, 'ipv6');
  }
  return INTERNAL.check(address, 'ipv4');
}

/** The problem with a URL, or null when it may receive webhooks. Checks the text only (see `checkDeliveryTarget`). */
export function webhookUrlProblem(value: string, policy: WebhookUrlPolicy): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https:// URL';
  if (url.protocol === 'http:' && !policy.allowInsecure) return 'must use https (http is allowed in development only)';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (url.hash !== '') return 'must not contain a fragment';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.allowInsecure && (isInternalAddress(host) || isLocalName(host))) {
    return 'must not point to a loopback, private or internal address';
  }
  return null;
}

const isLocalName = (host: string) => /(^|\.)(localhost|local|internal)$/i.test(host) || !host.includes('.');

/**
 * Checked again before every delivery, on the addresses the host name resolves to now (a name may be pointed at
 * an internal address after the endpoint was registered). Throws with the reason.
 */
export async function checkDeliveryTarget(value: string, policy: WebhookUrlPolicy): Promise<void> {
  const problem = webhookUrlProblem(value, policy);
  if (problem) throw new Error(`url ${problem}`);
  if (policy.allowInsecure) return;
  const host = new URL(value).hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [{ address: host }] : await lookup(host, { all: true });
  if (addresses.some((a) => isInternalAddress(a.address))) {
    throw new Error('url resolves to a loopback, private or internal address');
  }
}
