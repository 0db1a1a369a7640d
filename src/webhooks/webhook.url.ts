import dns, { type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

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
  // NAT64 and 6to4 carry an IPv4 address inside: they can reach an internal IPv4 network through a gateway.
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['2002::', 16],
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

/** The problem with a URL, or null when it may receive webhooks. Checks the text only; the addresses a name resolves to are checked when the delivery connects (`guardedLookup`). */
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

/** How host names are resolved (node's `dns.lookup` with `all: true`); tests pass their own. */
export type Resolver = (
  hostname: string,
  family: number,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, family, callback) => dns.lookup(hostname, { all: true, family }, callback);

/**
 * The `lookup` of the delivery's socket: the addresses a name resolves to are checked at connection time, and
 * the socket connects only to an address that passed. Checking first and letting the HTTP client resolve the
 * name again would let a partner's DNS answer a public address to the check and an internal one to the
 * connection. undefined in development (local receivers allowed), where node's own lookup is used.
 */
export function guardedLookup(
  policy: WebhookUrlPolicy,
  resolve: Resolver = systemResolver,
): LookupFunction | undefined {
  if (policy.allowInsecure) return undefined;
  return (hostname, options, callback) => {
    resolve(hostname, options.family === 4 || options.family === 6 ? options.family : 0, (error, addresses) => {
      if (error) return callback(error, '', 0);
      if (addresses.length === 0) return callback(lookupError(hostname, 'ENOTFOUND', 'has no address'), '', 0);
      if (addresses.some((a) => isInternalAddress(a.address))) {
        return callback(
          lookupError(hostname, 'EINTERNAL', 'url resolves to a loopback, private or internal address'),
          '',
          0,
        );
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

function lookupError(hostname: string, code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code === 'ENOTFOUND' ? `${hostname} ${message}` : message), { code, hostname });
}
