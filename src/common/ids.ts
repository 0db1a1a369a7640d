import { randomBytes } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** New user ids look like the legacy ones: `usr_` + 10 random bytes in hex (80 bits). */
export function newUserId(): string {
  return `usr_${randomBytes(10).toString('hex')}`;
}
