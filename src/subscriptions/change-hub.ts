import type { LoanChange } from './loan-change';

/** Changes queued for one subscriber that is slower than the events; past it the oldest are dropped. */
export const MAX_QUEUED_CHANGES = 100;

/**
 * The changes of this process, fanned out to its subscribers: the broker consumer publishes every event it
 * receives; each subscription is an async iterator over the changes its filter accepts. A slow subscriber
 * loses its oldest queued changes rather than growing memory: the loan is read fresh for every delivered
 * change, so the newest change always shows the current loan.
 */
export class LoanChangeHub {
  private readonly subscribers = new Set<ChangeStream>();

  publish(change: LoanChange): void {
    for (const subscriber of this.subscribers) subscriber.offer(change);
  }

  subscribe(accept: (change: LoanChange) => boolean): AsyncIterableIterator<LoanChange> {
    const stream = new ChangeStream(accept, () => this.subscribers.delete(stream));
    this.subscribers.add(stream);
    return stream;
  }

  /** Ends every subscription (shutdown). */
  close(): void {
    for (const subscriber of [...this.subscribers]) subscriber.end();
  }
}

class ChangeStream implements AsyncIterableIterator<LoanChange> {
  private queue: LoanChange[] = [];
  private waiting: ((result: IteratorResult<LoanChange>) => void) | undefined;
  private done = false;

  constructor(
    private readonly accept: (change: LoanChange) => boolean,
    private readonly onEnd: () => void,
  ) {}

  offer(change: LoanChange): void {
    if (this.done || !this.accept(change)) return;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      waiting({ value: change, done: false });
      return;
    }
    this.queue.push(change);
    if (this.queue.length > MAX_QUEUED_CHANGES) this.queue.shift();
  }

  next(): Promise<IteratorResult<LoanChange>> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve({ value: queued, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<LoanChange>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.queue = [];
    this.onEnd();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<LoanChange> {
    return this;
  }
}
