import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mean, nearestRank, sortedSample } from './stats.js';

describe('nearest-rank percentiles', () => {
  it('is the smallest sample with at least q·n samples at or below it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        (values, q) => {
          const sorted = sortedSample(values);
          const v = nearestRank(sorted, q);
          const atOrBelow = (x: number) => values.filter((y) => y <= x).length;
          expect(atOrBelow(v)).toBeGreaterThanOrEqual(q * values.length - 1e-9);
          // any smaller sample has fewer than q·n at or below it
          for (const y of values) if (y < v) expect(atOrBelow(y)).toBeLessThan(q * values.length);
        },
      ),
    );
  });

  it('sorts numerically and averages', () => {
    expect([...sortedSample([10, 9, 100, 1])]).toEqual([1, 9, 10, 100]);
    expect(nearestRank(sortedSample([10, 9, 100, 1]), 0.5)).toBe(9);
    expect(nearestRank(sortedSample([10, 9, 100, 1]), 1)).toBe(100);
    expect(mean([1, 2, 3, 6])).toBe(3);
  });
});
