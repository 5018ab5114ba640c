/**
 * EventTap: a consumer group of the demo's own on checkout:events (`demo-latency`, XREADGROUP
 * NOACK) records each event_id's entry id, i.e. the time Redis accepted the XADD. Because the
 * services trim a stream only below the oldest entry *every* group still needs
 * (safeTrimPoint), no entry is trimmed before this tap has read it.
 */
import { createRedis, type Keys, type Redis, type RedisTarget } from '@holdfast/shared';
import { retrying } from './retry.js';
import { groupBacklogs } from '@holdfast/shared/inspect';
import { idMs, type XReadReply } from './stream-info.js';

export const TAP_GROUP = 'demo-latency';

/** Records the XADD time (entry id ms) of every checkout:events entry, by event_id. */
export class EventTap {
  readonly xaddMs = new Map<string, number>();
  /** checkout:events entries seen. */
  count = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly conn: Redis;

  constructor(
    redis: string | RedisTarget,
    private readonly keys: Keys,
  ) {
    this.conn = createRedis(redis, { name: 'holdfast-demo-event-tap', blocking: true });
  }

  /** Creates the group at the stream's current end (the demo namespace is empty anyway). */
  async start(): Promise<void> {
    await this.conn
      .xgroup('CREATE', this.keys.streams.events, TAP_GROUP, '$', 'MKSTREAM')
      .catch((err: Error) => {
        if (!/BUSYGROUP/.test(err.message)) throw err;
      });
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const res = (await retrying(() =>
        this.conn.xreadgroup(
          'GROUP',
          TAP_GROUP,
          'tap',
          'COUNT',
          5000,
          'BLOCK',
          200,
          'NOACK',
          'STREAMS',
          this.keys.streams.events,
          '>',
        ),
      )) as XReadReply;
      if (res) this.take(res[0]![1]);
    }
  }

  private take(entries: Array<[string, string[] | null]>): void {
    for (const [id, flat] of entries) {
      this.count++;
      if (!flat) continue;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        if (flat[i] === 'event_id') {
          // The first XADD of an event_id is the one that counts (a duplicate changes nothing).
          if (!this.xaddMs.has(flat[i + 1]!)) this.xaddMs.set(flat[i + 1]!, idMs(id));
          break;
        }
      }
    }
  }

  /** Undelivered entries of the tap's group (0 = it has seen everything XADDed so far). */
  async lag(redis: Redis): Promise<number> {
    const groups = await groupBacklogs(redis, this.keys.streams.events);
    return groups.find((g) => g.name === TAP_GROUP)?.lag ?? 0;
  }

  /** Stops reading and removes the group (so it does not pin the stream afterwards). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop?.catch(() => {});
    await this.conn.xgroup('DESTROY', this.keys.streams.events, TAP_GROUP).catch(() => {});
    this.conn.disconnect();
  }
}
