/**
 * Outcome and ledger entries read straight from Redis with their field order checked (each
 * field once; ledger fields in the documented order).
 */
import { expect } from 'vitest';
import type { Redis } from 'ioredis';
import type { Delta } from './stock.js';

export interface Entry {
  id: string;
  /** Field names in stream order. */
  names: string[];
  f: Record<string, string>;
}

export interface LedgerEntry {
  change_id: string;
  kind: string;
  event_id: string;
  checkout_id: string;
  at: string;
  lines: Delta[];
  per_user?: string;
}

export async function xrangeAfter(
  r: Redis,
  key: string,
  after: string | undefined,
): Promise<Entry[]> {
  const raw = await r.xrange(key, after ? `(${after}` : '-', '+');
  return raw.map(([id, kv]) => {
    const names: string[] = [];
    const f: Record<string, string> = {};
    for (let i = 0; i < kv.length; i += 2) {
      const k = kv[i]!;
      expect(f[k], `field ${k} appears once in ${key} ${id}`).toBeUndefined();
      names.push(k);
      f[k] = kv[i + 1]!;
    }
    return { id, names, f };
  });
}

export function parseLedger(e: Entry): LedgerEntry {
  const expectedNames = ['change_id', 'kind', 'event_id', 'checkout_id', 'at', 'lines'];
  if (e.f.per_user !== undefined) expectedNames.push('per_user');
  expect(e.names, `ledger entry ${e.id} field names`).toEqual(expectedNames);
  const l: LedgerEntry = {
    change_id: e.f.change_id!,
    kind: e.f.kind!,
    event_id: e.f.event_id!,
    checkout_id: e.f.checkout_id!,
    at: e.f.at!,
    lines: JSON.parse(e.f.lines!) as Delta[],
  };
  if (e.f.per_user !== undefined) l.per_user = e.f.per_user;
  return l;
}
