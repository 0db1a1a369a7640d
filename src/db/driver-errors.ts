import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlWithoutValues, withoutQuotedInput } from '../logging/redaction';

/**
 * A failed statement's error, as knex hands it on, reads `<the SQL> - <PostgreSQL's message>`, and
 * MikroORM writes a statement's parameters into its SQL text before sending it: the message of every
 * database error would carry the values (borrower ids, emails, amounts) to wherever it goes, logs first.
 *
 * knex reports each failed statement through its client's 'query-error' event, synchronously, before the
 * error travels on (MikroORM wraps it only afterwards). Here the message is rewritten at that point: the
 * SQL with `?` for each literal, and PostgreSQL's own message without the input it quotes. Every consumer
 * (the REST and GraphQL error paths, the logs, a wrapping DriverException and its stack) then sees only
 * that. The log serializer (logging/error-serializer.ts) checks again, for errors that never came this way.
 */

interface QueryErrorSource {
  on(event: 'query-error', listener: (error: unknown, query: { sql?: unknown }) => void): unknown;
}

const installed = new WeakSet<object>();

export function redactDriverErrors(orm: MikroORM): void {
  const client = orm.em.getConnection().getKnex().client as unknown as QueryErrorSource;
  if (installed.has(client)) return;
  installed.add(client);
  client.on('query-error', (error, query) => {
    if (!(error instanceof Error) || typeof query?.sql !== 'string') return;
    const prefix = `${query.sql} - `;
    const driverMessage = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    const sql = error.message.startsWith(prefix) ? `${sqlWithoutValues(query.sql)} - ` : '';
    error.message = sql + withoutQuotedInput(driverMessage);
  });
}
