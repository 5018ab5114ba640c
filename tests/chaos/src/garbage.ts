/**
 * Hostile input for checkout:events and inventory:admin, generated with fast-check: random
 * field names and values, huge values, deep JSON, unicode, invalid UTF-8 (Buffer values),
 * duplicated and missing fields, mutations of valid events.
 *
 * Every generated entry must end as a dead letter, or — if it happens to be valid — as an
 * outcome; none may change stock. To make "stock unchanged" checkable, garbage names the
 * armed SKUs only together with quantities the contract rejects (so an entry naming an armed
 * SKU is never a valid reserve or restock), random values never equal an armed SKU, and
 * admin garbage never carries a digits-only qty / per_user (so it is never a valid restock).
 */
import fc from 'fast-check';

export interface GarbageEntry {
  fields: Array<string | Buffer>;
  kind: string;
}

/** Quantities the contract rejects (digits only, 1..10 000). */
export const INVALID_QTY = [
  '0',
  '-1',
  '1.5',
  '1e3',
  '10001',
  '99999999999999999999',
  '',
  ' 1',
  '1 ',
  '0x10',
  'NaN',
  'Infinity',
  '\uff11',
  '+1',
  '1,000',
  '½',
  '٣',
  'null',
  '[1]',
  '1\u0000',
];

/** Values no admin event accepts as qty (1..10^9) or per_user (0..10^6). */
export const INVALID_ADMIN_NUMBER = INVALID_QTY.filter((v) => !/^\d+$/.test(v) || v.length > 12);

const CHECKOUT_NAMES = [
  'type',
  'event_id',
  'checkout_id',
  'user_id',
  'lines',
  'sku',
  'qty',
  'hold_seconds',
];
const DEAD_META = [
  'reason',
  'detail',
  'source_stream',
  'source_id',
  'deliveries',
  'truncated',
  'original.type',
];
const ADMIN_NAMES = ['type', 'event_id', 'sku', 'qty', 'per_user'];
const TYPES = [
  'reserve',
  'confirm',
  'cancel',
  'extend',
  'restock',
  'set_limit',
  'RESERVE',
  'reserve ',
  'expire',
  '',
];

function deepJson(depth: number, kind: number): string {
  switch (kind % 4) {
    case 0:
      return '['.repeat(depth) + ']'.repeat(depth);
    case 1:
      return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    case 2:
      return '['.repeat(depth); // unterminated
    default:
      return `[{"sku":${'['.repeat(depth)}"x"${']'.repeat(depth)},"qty":1}]`;
  }
}

const binary = (max: number) =>
  fc.uint8Array({ minLength: 1, maxLength: max }).map((a) => Buffer.from(a));

/** Hostile string values (never an armed SKU). */
function hostileString(armed: readonly string[]) {
  return fc
    .oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(...TYPES),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom(
        ...INVALID_QTY,
        '[]',
        '{}',
        'true',
        '\n',
        '\u0000',
        '\ud800',
        '🙂'.repeat(64),
        'a b',
        '\u202e',
      ),
      fc.integer().map(String),
      fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
      fc.double().map(String),
      fc.tuple(fc.integer({ min: 9, max: 20_000 }), fc.nat()).map(([d, k]) => deepJson(d, k)),
      fc.integer({ min: 1_000, max: 80_000 }).map((n) => 'x'.repeat(n)),
      fc.json({ maxDepth: 4 }),
      fc
        .array(
          fc.record({
            sku: fc.string({ maxLength: 10 }),
            qty: fc.oneof(fc.integer(), fc.string(), fc.double()),
          }),
          { maxLength: 60 },
        )
        .map((l) => JSON.stringify(l)),
    )
    .filter((s) => !armed.includes(s));
}

function value(armed: readonly string[], digitsOk: boolean) {
  const v = fc.oneof(
    { weight: 5, arbitrary: hostileString(armed) },
    { weight: 1, arbitrary: binary(300) },
  );
  return digitsOk ? v : v.filter((x) => typeof x !== 'string' || !/^\d+$/.test(x));
}

function pairs(names: string[], armed: readonly string[], digitsOk: boolean) {
  const name = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...names) },
    { weight: 1, arbitrary: fc.constantFrom(...DEAD_META) },
    { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) },
    { weight: 1, arbitrary: binary(20) },
  );
  return fc.array(fc.tuple(name, value(armed, digitsOk)), { minLength: 1, maxLength: 10 });
}

/** Mutations of a template field list (never touching the armed SKU's quantity). */
function mutate(template: string[], frozen: ReadonlySet<string>, armed: readonly string[]) {
  const mutation = fc.oneof(
    fc.record({
      op: fc.constant('set' as const),
      field: fc.constantFrom(...template.filter((_, i) => i % 2 === 0)),
      v: value(armed, true),
    }),
    fc.record({
      op: fc.constant('drop' as const),
      field: fc.constantFrom(...template.filter((_, i) => i % 2 === 0)),
    }),
    fc.record({
      op: fc.constant('dup' as const),
      field: fc.constantFrom(...template.filter((_, i) => i % 2 === 0)),
      v: value(armed, false),
    }),
    fc.record({ op: fc.constant('extra' as const), more: pairs(CHECKOUT_NAMES, armed, false) }),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => {
    let f: Array<string | Buffer> = [...template];
    for (const m of ms) {
      if (m.op === 'set' && !frozen.has(m.field)) {
        const i = f.indexOf(m.field);
        if (i >= 0) f[i + 1] = m.v;
      } else if (m.op === 'drop' && f.length > 2) {
        const i = f.indexOf(m.field);
        if (i >= 0) f = [...f.slice(0, i), ...f.slice(i + 2)];
      } else if (m.op === 'dup' && f.includes(m.field)) {
        // Only a real duplicate (the field is present): the entry is then invalid.
        f.push(m.field, m.v);
      } else if (m.op === 'extra') {
        for (const [k, v] of m.more)
          if (!template.includes(typeof k === 'string' ? k : '')) f.push(k, v);
      }
    }
    return f;
  });
}

/**
 * `n` hostile checkout:events entries (deterministic for a seed). Templates use event ids
 * `<prefix><i>`; a template naming an armed SKU carries an invalid qty that no mutation touches.
 */
export function checkoutGarbage(
  n: number,
  seed: number,
  armed: readonly string[],
  prefix = 'g',
): GarbageEntry[] {
  const out: GarbageEntry[] = [];
  const rnd = fc.sample(fc.nat(), { numRuns: n, seed });
  const randomPairs = fc.sample(pairs(CHECKOUT_NAMES, armed, true), { numRuns: n, seed: seed + 1 });
  for (let i = 0; i < n; i++) {
    const u = rnd[i]! % 100;
    if (u < 35) {
      out.push({ fields: randomPairs[i]!.flat(), kind: 'random fields' });
      continue;
    }
    const type = ['reserve', 'confirm', 'cancel', 'extend'][i % 4]!;
    const t = ['type', type, 'event_id', `${prefix}${i}`, 'checkout_id', `${prefix}c${i}`];
    const frozen = new Set<string>();
    if (type === 'reserve') {
      t.push('user_id', `${prefix}u${i}`);
      if (u < 60) {
        // An armed SKU with a quantity the contract rejects: must be dead-lettered.
        const sku = armed[i % armed.length]!;
        if (i % 2) t.push('sku', sku, 'qty', INVALID_QTY[i % INVALID_QTY.length]!);
        else
          t.push(
            'lines',
            JSON.stringify([
              { sku, qty: INVALID_QTY[i % INVALID_QTY.length] },
              { sku: `${sku}x`, qty: 1 },
            ]),
          );
        frozen.add('sku').add('qty').add('lines').add('type');
      } else {
        t.push('sku', `nosuch-${i}`, 'qty', '1');
      }
    }
    if (type === 'extend') t.push('hold_seconds', '5');
    const [m] = fc.sample(mutate(t, frozen, armed), { numRuns: 1, seed: seed + 7 * i });
    out.push({ fields: m!, kind: `mutated ${type}` });
  }
  // A few entries far over the 64 KiB value limit (1 MiB) and a deeply nested lines value.
  out.push({
    fields: [
      'type',
      'reserve',
      'event_id',
      `${prefix}huge`,
      'checkout_id',
      'c',
      'user_id',
      'u',
      'sku',
      armed[0]!,
      'qty',
      '0',
      'note',
      'y'.repeat(1 << 20),
    ],
    kind: '1 MiB value',
  });
  out.push({
    fields: [
      'type',
      'reserve',
      'event_id',
      `${prefix}deep`,
      'checkout_id',
      'c',
      'user_id',
      'u',
      'lines',
      '['.repeat(60_000),
    ],
    kind: 'deep JSON',
  });
  out.push({
    fields: [Buffer.from([0xff, 0xfe, 0x00]), Buffer.from([0xc3, 0x28])],
    kind: 'binary only',
  });
  out.push({
    fields: ['type', 'restock', 'event_id', `${prefix}ws`, 'sku', armed[0]!, 'qty', '100'],
    kind: 'admin type on checkout stream',
  });
  return out;
}

/** `n` hostile inventory:admin entries: none is a valid restock / set_limit. */
export function adminGarbage(
  n: number,
  seed: number,
  armed: readonly string[],
  prefix = 'ga',
): GarbageEntry[] {
  const out: GarbageEntry[] = [];
  const rnd = fc.sample(fc.nat(), { numRuns: n, seed });
  const randomPairs = fc.sample(pairs(ADMIN_NAMES, armed, false), { numRuns: n, seed: seed + 1 });
  for (let i = 0; i < n; i++) {
    const u = rnd[i]! % 100;
    if (u < 50) {
      out.push({ fields: randomPairs[i]!.flat(), kind: 'random admin fields' });
      continue;
    }
    const sku = u < 75 ? armed[i % armed.length]! : `new-${i}`;
    const bad = INVALID_ADMIN_NUMBER[i % INVALID_ADMIN_NUMBER.length]!;
    const t =
      i % 3 === 0
        ? ['type', 'set_limit', 'event_id', `${prefix}${i}`, 'sku', sku, 'per_user', bad]
        : ['type', 'restock', 'event_id', `${prefix}${i}`, 'sku', sku, 'qty', bad];
    const [m] = fc.sample(mutate(t, new Set(['qty', 'per_user', 'type', 'sku']), armed), {
      numRuns: 1,
      seed: seed + 11 * i,
    });
    out.push({ fields: m!, kind: 'mutated admin' });
  }
  out.push({
    fields: [
      'type',
      'reserve',
      'event_id',
      `${prefix}ws`,
      'checkout_id',
      'c',
      'user_id',
      'u',
      'sku',
      armed[0]!,
      'qty',
      '1',
    ],
    kind: 'checkout type on admin stream',
  });
  return out;
}
