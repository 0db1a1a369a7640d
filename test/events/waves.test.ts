import { wavesOf } from '../../src/events/relay';

describe('wavesOf (how the relay parallelises a batch without reordering a subject)', () => {
  test('the k-th event of each subject goes to wave k; sequence order is kept inside a wave', () => {
    const rows = ['a1', 'b1', 'a2', 'c1', 'a3', 'b2'].map((name) => ({ subject: name[0], name }));
    expect(wavesOf(rows).map((wave) => wave.map((r) => r.name))).toEqual([['a1', 'b1', 'c1'], ['a2', 'b2'], ['a3']]);
  });

  test('no subject twice in a wave; every row once', () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({ subject: `s${(i * 7) % 13}`, i }));
    const waves = wavesOf(rows);
    for (const wave of waves) expect(new Set(wave.map((r) => r.subject)).size).toBe(wave.length);
    expect(
      waves
        .flat()
        .map((r) => r.i)
        .sort((x, y) => x - y),
    ).toEqual(rows.map((r) => r.i));
    expect(wavesOf([])).toEqual([]);
  });
});
