/**
 * A plain in-memory model of the decision scripts, written from the contract and
 * docs/architecture.md (not from the Lua). Used by the sequential property test to predict
 * every decision (status and reason) and the counters exactly.
 */
import type { AdminCommand, CheckoutCommand, Decision, GateConfig } from '@holdfast/shared';
import type { Counters } from '@holdfast/testkit/gate';

export type HoldState = 'active' | 'confirmed' | 'cancelled' | 'expired';

export interface ModelHold {
  checkoutId: string;
  state: HoldState;
  user: string;
  lines: Array<[string, number]>;
  expiresAt: number;
  maxUntil: number;
  /** Hold generation (makes expiry ids unique). */
  n: number;
}

export class Model {
  readonly stock = new Map<string, Counters>();
  readonly holds = new Map<string, ModelHold>();
  /** `${user}\0${sku}` → units held + sold. */
  readonly usage = new Map<string, number>();
  private readonly decided = new Set<string>();
  private readonly adminDecided = new Set<string>();
  private seq = 0;
  expiredCount = 0;

  constructor(private readonly cfg: GateConfig) {}

  holdMs(requested: number | undefined): number {
    const s = requested ?? this.cfg.holdDefaultSeconds;
    return Math.min(this.cfg.holdMaxSeconds, Math.max(this.cfg.holdMinSeconds, s)) * 1000;
  }

  used(user: string, sku: string): number {
    return this.usage.get(`${user}\u0000${sku}`) ?? 0;
  }

  private addUsage(user: string, sku: string, q: number): void {
    this.usage.set(`${user}\u0000${sku}`, this.used(user, sku) + q);
  }

  private release(h: ModelHold): void {
    for (const [sku, q] of h.lines) {
      const s = this.stock.get(sku)!;
      s.held -= q;
      s.available += q;
      this.addUsage(h.user, sku, -q);
    }
  }

  decide(cmd: CheckoutCommand, now: number): Decision {
    if (this.decided.has(cmd.eventId)) return { status: 'duplicate' };
    this.decided.add(cmd.eventId);
    const rejected = (reason: string): Decision => ({ status: 'rejected', reason });

    if (cmd.type === 'reserve') {
      if (this.holds.has(cmd.checkoutId)) return rejected('hold_exists');
      for (const [sku, q] of cmd.lines) {
        const s = this.stock.get(sku);
        if (!s) return rejected('unknown_sku');
        if (s.available < q) return rejected('out_of_stock');
        if (s.perUser > 0 && this.used(cmd.userId, sku) + q > s.perUser)
          return rejected('user_limit');
      }
      for (const [sku, q] of cmd.lines) {
        const s = this.stock.get(sku)!;
        s.available -= q;
        s.held += q;
        this.addUsage(cmd.userId, sku, q);
      }
      const maxUntil = now + this.cfg.holdMaxTotalSeconds * 1000;
      const expiresAt = Math.min(now + this.holdMs(cmd.holdSeconds), maxUntil);
      this.holds.set(cmd.checkoutId, {
        checkoutId: cmd.checkoutId,
        state: 'active',
        user: cmd.userId,
        lines: cmd.lines.map(([s, q]) => [s, q]),
        expiresAt,
        maxUntil,
        n: ++this.seq,
      });
      return { status: 'reserved', expiresAt };
    }

    const h = this.holds.get(cmd.checkoutId);
    if (!h) return rejected('unknown_hold');
    if (h.state === 'confirmed') return rejected('hold_confirmed');
    if (h.state === 'cancelled') return rejected('hold_cancelled');
    if (h.state === 'expired') return rejected('hold_expired');
    // Past the deadline but not swept: confirm and extend are refused, cancel is accepted.
    if (cmd.type !== 'cancel' && now >= h.expiresAt) return rejected('hold_expired');

    switch (cmd.type) {
      case 'confirm':
        for (const [sku, q] of h.lines) {
          const s = this.stock.get(sku)!;
          s.held -= q;
          s.sold += q;
        }
        h.state = 'confirmed';
        return { status: 'confirmed' };
      case 'cancel':
        this.release(h);
        h.state = 'cancelled';
        return { status: 'cancelled' };
      case 'extend': {
        const e = Math.max(h.expiresAt, Math.min(now + this.holdMs(cmd.holdSeconds), h.maxUntil));
        h.expiresAt = e;
        return { status: 'extended', expiresAt: e };
      }
    }
  }

  admin(cmd: AdminCommand): string {
    if (this.adminDecided.has(cmd.eventId)) return 'duplicate';
    this.adminDecided.add(cmd.eventId);
    const s = this.stock.get(cmd.sku) ?? { total: 0, available: 0, held: 0, sold: 0, perUser: 0 };
    this.stock.set(cmd.sku, s);
    if (cmd.type === 'restock') {
      s.total += cmd.qty;
      s.available += cmd.qty;
      return 'restocked';
    }
    s.perUser = cmd.perUser;
    return 'limit_set';
  }

  /** Active holds due at `now`, in holds:due order (deadline, then checkout id bytewise). */
  due(now: number): ModelHold[] {
    return [...this.holds.values()]
      .filter((h) => h.state === 'active' && h.expiresAt <= now)
      .sort(
        (a, b) =>
          a.expiresAt - b.expiresAt ||
          (a.checkoutId < b.checkoutId ? -1 : a.checkoutId > b.checkoutId ? 1 : 0),
      );
  }

  /** Expires up to `limit` due holds; returns their `expired:<checkout_id>:<n>` event ids. */
  expireDue(now: number, limit: number): string[] {
    const out: string[] = [];
    for (const h of this.due(now).slice(0, limit)) {
      this.release(h);
      h.state = 'expired';
      this.expiredCount++;
      out.push(`expired:${h.checkoutId}:${h.n}`);
    }
    return out;
  }

  activeHolds(): ModelHold[] {
    return [...this.holds.values()].filter((h) => h.state === 'active');
  }

  /** The latest deadline any hold could still reach. */
  latestPossibleDeadline(): number {
    return Math.max(0, ...this.activeHolds().map((h) => h.maxUntil));
  }
}
