import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Claims `eventId` for `consumer` inside the caller's transaction: true the first time, false when the event was
 * processed already (then the caller writes nothing). A concurrent claim of the same event waits for this
 * transaction and then finds the row, so two deliveries of one event never both write.
 */
export async function claimEvent(em: EntityManager, consumer: string, eventId: string): Promise<boolean> {
  const rows = await em.execute<{ event_id: string }[]>(
    `insert into processed_events (consumer, event_id, processed_at) values (?, ?, now())
     on conflict (consumer, event_id) do nothing returning event_id`,
    [consumer, eventId],
  );
  return rows.length === 1;
}

export async function isProcessed(em: EntityManager, consumer: string, eventId: string): Promise<boolean> {
  const rows = await em.execute<{ one: number }[]>(
    'select 1 as one from processed_events where consumer = ? and event_id = ?',
    [consumer, eventId],
  );
  return rows.length === 1;
}
