import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_VALIDATION_LIMITS,
  REJECT_REASONS,
  isRejectReason,
  resolveValidationLimits,
  validateCheckoutEvent,
} from './index.js';

describe('REJECT_REASONS', () => {
  it('is a small set of distinct snake_case names', () => {
    expect(new Set(REJECT_REASONS).size).toBe(REJECT_REASONS.length);
    for (const r of REJECT_REASONS) expect(r).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(REJECT_REASONS.length).toBeLessThanOrEqual(15);
  });

  it('isRejectReason', () => {
    for (const r of REJECT_REASONS) expect(isRejectReason(r)).toBe(true);
    expect(isRejectReason('out_of_stock')).toBe(false);
    expect(isRejectReason(undefined)).toBe(false);
  });

  it('every reason is documented for producers in docs/input-validation.md', () => {
    const doc = readFileSync(
      new URL('../../../../docs/input-validation.md', import.meta.url),
      'utf8',
    );
    const undocumented = REJECT_REASONS.filter((r) => !doc.includes(`\`${r}\``));
    expect(undocumented).toEqual([]);
  });
});

describe('resolveValidationLimits', () => {
  it('defaults to the contract', () => {
    expect(resolveValidationLimits()).toEqual({
      maxValueBytes: 65536,
      maxLinesBytes: 16384,
      maxLines: 50,
      maxLineQty: 10000,
    });
    expect(resolveValidationLimits({})).toEqual(DEFAULT_VALIDATION_LIMITS);
  });

  it('fills missing and undefined limits from the defaults', () => {
    expect(resolveValidationLimits({ maxLines: 10, maxLineQty: undefined })).toEqual({
      ...DEFAULT_VALIDATION_LIMITS,
      maxLines: 10,
    });
  });

  it('caches per object', () => {
    const l = { maxLines: 7 };
    expect(resolveValidationLimits(l)).toBe(resolveValidationLimits(l));
  });

  it('throws a message naming a bad limit', () => {
    expect(() => resolveValidationLimits({ maxLines: 0 })).toThrow(/maxLines/);
    expect(() => resolveValidationLimits({ maxValueBytes: 1.5 })).toThrow(/maxValueBytes/);
    expect(() => resolveValidationLimits({ maxLineQty: Number.NaN })).toThrow(/maxLineQty/);
    expect(() => validateCheckoutEvent([], { maxLinesBytes: -1 })).toThrow(/maxLinesBytes/);
  });
});
