import type { Clock } from '../../src/common/clock';

/** A clock a test sets by hand (`createApp(config, { clock })`): arrears never depend on the machine's date. */
export class ManualClock implements Clock {
  private instant: number;

  constructor(iso: string) {
    this.instant = Date.parse(iso);
  }

  now(): Date {
    return new Date(this.instant);
  }

  set(iso: string): void {
    this.instant = Date.parse(iso);
  }
}
