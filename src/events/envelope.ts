import { randomUUID } from 'node:crypto';
import { dataSchemaOf, EVENT_SOURCE, type EventDataMap, type EventType } from './catalog';

/** A CloudEvents 1.0 event in structured JSON mode: what the outbox stores and the exchange carries. */
export interface CloudEvent<T extends EventType = EventType> {
  specversion: '1.0';
  /** UUID; consumers deduplicate by it (delivery is at-least-once). */
  id: string;
  source: string;
  type: T;
  /** The loan id (loan.* and repayment.*) or the user id (user.*). */
  subject: string;
  /** ISO 8601, UTC. */
  time: string;
  datacontenttype: 'application/json';
  dataschema: string;
  data: EventDataMap[T];
}

export interface EnvelopeOptions {
  id?: string;
  time?: Date;
}

/** Builds the CloudEvent of a domain fact. */
export function buildEnvelope<T extends EventType>(
  type: T,
  subject: string,
  data: EventDataMap[T],
  options: EnvelopeOptions = {},
): CloudEvent<T> {
  return {
    specversion: '1.0',
    id: options.id ?? randomUUID(),
    source: EVENT_SOURCE,
    type,
    subject,
    time: (options.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    dataschema: dataSchemaOf(type),
    data,
  };
}

/** Parses a message body back into a CloudEvent (consumers); throws on what is not one of ours. */
export function parseEnvelope(body: Buffer | string): CloudEvent {
  const value: unknown = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  if (
    typeof value !== 'object' ||
    value === null ||
    (value as CloudEvent).specversion !== '1.0' ||
    typeof (value as CloudEvent).id !== 'string' ||
    typeof (value as CloudEvent).type !== 'string' ||
    typeof (value as CloudEvent).subject !== 'string'
  ) {
    throw new Error('not a CloudEvents 1.0 structured event');
  }
  return value as CloudEvent;
}
