/**
 * `holdfast holds show CHECKOUT_ID` and `holdfast holds list --user USER_ID` (contract v2): a
 * hold's state, lines, deadline and shard, and what a user holds, on every shard. Read-only.
 */
import { findHold, userHolds, type HoldView } from '@holdfast/shared/inspect';
import type { Context } from '@holdfast/shared/tools';
import { EXIT } from '@holdfast/shared/tools';
import { renderTable } from '../table.js';

const linesText = (lines: Array<[string, number]>) =>
  lines.map(([sku, qty]) => `${sku}×${qty}`).join(' ');

const when = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : '-');

/** `expires in 9m 58s` / `expired 3s ago` relative to now, for a hold still active. */
function deadlineText(h: HoldView, now: number): string {
  if (h.state !== 'active' && h.state !== 'pending') return when(h.expiresAt);
  const s = Math.round((h.expiresAt - now) / 1000);
  const span = (x: number) => (x >= 60 ? `${Math.floor(x / 60)}m ${x % 60}s` : `${x}s`);
  return `${when(h.expiresAt)} (${s >= 0 ? `in ${span(s)}` : `${span(-s)} ago: the next sweep releases it`})`;
}

export async function holdsShow(
  ctx: Context,
  checkoutId: string,
  o: { json?: boolean },
  out: (s: string) => void,
): Promise<number> {
  const hold = await findHold(await ctx.redis(), ctx.keys, checkoutId);
  if (o.json) {
    out(JSON.stringify(hold));
    return hold ? EXIT.ok : EXIT.failed;
  }
  if (!hold) {
    out(
      `no hold for checkout ${checkoutId} on any shard (never reserved, or finished and forgotten)`,
    );
    return EXIT.failed;
  }
  const rows: Array<[string, string]> = [
    ['checkout', hold.checkoutId],
    ['state', hold.reason ? `${hold.state} (${hold.reason})` : hold.state],
    ['user', hold.userId],
    ['shard', hold.shard],
    ['lines', linesText(hold.lines)],
    ['expires', deadlineText(hold, Date.now())],
    ['created', when(hold.createdAt)],
    ['reserve event', hold.eventId],
  ];
  for (const p of hold.parts ?? [])
    rows.push([`part on ${p.shard}`, `${linesText(p.lines)}: ${p.state ?? 'not reserved yet'}`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) out(`${k.padEnd(w)}  ${v}`);
  return EXIT.ok;
}

export async function holdsList(
  ctx: Context,
  o: { user: string; all?: boolean; json?: boolean },
  out: (s: string) => void,
): Promise<number> {
  const holds = await userHolds(await ctx.redis(), ctx.keys, o.user, { all: !!o.all });
  if (o.json) {
    out(JSON.stringify(holds));
    return EXIT.ok;
  }
  if (!holds.length) {
    out(
      `user ${o.user} holds nothing${o.all ? '' : ' (active or pending; --all shows finished holds too)'}`,
    );
    return EXIT.ok;
  }
  const now = Date.now();
  out(
    renderTable(
      ['checkout', 'state', 'shard', 'lines', 'expires'],
      holds.map((h) => [h.checkoutId, h.state, h.shard, linesText(h.lines), deadlineText(h, now)]),
    ),
  );
  return EXIT.ok;
}
