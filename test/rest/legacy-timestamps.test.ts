import { isoSeconds } from '../../src/loans/loan.rest';

/**
 * The legacy shape's timestamps (`isoSeconds`): PostgreSQL's UTC text is rewritten as text on the list's hot path,
 * and must print exactly what `new Date(text).toISOString()` printed before (milliseconds cut, not rounded; none
 * when zero), for every precision PostgreSQL prints; other texts still go through `Date`.
 */
const throughDate = (text: string) => new Date(text).toISOString().replace('.000Z', 'Z');

describe('isoSeconds', () => {
  test('PostgreSQL UTC text of every precision, and ISO strings: what Date prints', () => {
    const texts: string[] = [];
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const ms = Date.UTC(1970 + (next() % 100), next() % 12, 1 + (next() % 28), next() % 24, next() % 60, next() % 60);
      const [day, time] = new Date(ms).toISOString().slice(0, 19).split('T');
      const digits = String(next() % 1_000_000)
        .padStart(6, '0')
        .slice(0, next() % 7)
        .replace(/0+$/, '');
      const fraction = digits ? `.${digits}` : '';
      texts.push(`${day} ${time}${fraction}+00`, `${day}T${time}${fraction}Z`);
    }
    texts.push('2025-01-01 00:00:00+00', '2025-01-01 00:00:00.5+00', '2025-01-01 00:00:00.999999+00');
    for (const text of texts) expect([text, isoSeconds(text)]).toEqual([text, throughDate(text)]);
    expect(isoSeconds('2025-01-01 00:00:00+00')).toBe('2025-01-01T00:00:00Z');
    expect(isoSeconds('2025-01-01 00:00:00.5+00')).toBe('2025-01-01T00:00:00.500Z');
    expect(isoSeconds('2025-01-01 00:00:00.999999+00')).toBe('2025-01-01T00:00:00.999Z');
  });

  test('another time zone, offset or form still goes through Date', () => {
    expect(() => isoSeconds('2025-01-01T00:00:00+00')).toThrow(RangeError);
    for (const text of [
      '2025-01-01 03:00:00+03',
      '2025-01-01 05:30:00.25+05:30',
      '2025-06-01T12:00:00.000-02:00',
      '0050-06-01 00:00:00+00',
      '2025-02-30 00:00:00+00',
      '1999-12-31 23:59:59.999+00',
      '1000-01-01 00:00:00+00',
    ]) {
      expect(isoSeconds(text)).toBe(throughDate(text));
    }
    expect(isoSeconds('2025-01-01 03:00:00+03')).toBe('2025-01-01T00:00:00Z');
  });
});
