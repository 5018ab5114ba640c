/**
 * The loader (index.ts): includes are inlined once, key counts come from the file names,
 * scripts run by EVALSHA once registered, and every key a decision script touches (except the
 * public outcomes stream) carries the shard's Cluster hash tag.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { SCRIPT_NAMES, loadScripts, registerScripts, runScript } from '@holdfast/shared';
import { Gate } from '@holdfast/shared';
import { Keys } from '@holdfast/shared';
import {
  CFG,
  T0,
  cancel,
  confirm,
  extend,
  fileEnv,
  reserve,
  restock,
  setLimit,
} from '@holdfast/testkit/gate';

const f = fileEnv();

const EXPECTED_KEYS: Record<string, number> = {
  reserve: 6,
  confirm: 6,
  cancel: 6,
  extend: 6,
  expireDue: 5,
  restock: 4,
  setLimit: 4,
  forwardMany: 3,
  decideMany: 5,
};

describe('Lua loader', () => {
  it('loads every registered script with its key count and inlines includes exactly once', () => {
    const scripts = loadScripts();
    expect([...scripts.keys()].sort()).toEqual([...SCRIPT_NAMES].sort());
    // The scripts ship as files next to @holdfast/shared's entry (src/lua/ or dist/lua/).
    const luaDir = join(dirname(fileURLToPath(import.meta.resolve('@holdfast/shared'))), 'lua');
    const files = readdirSync(luaDir).filter((n) => n.endsWith('.lua'));
    for (const s of scripts.values()) {
      const file = files.find((n) => n.startsWith(`${s.name}-`) || n === `${s.name}.lua`);
      // The key count lives in the name.
      expect(file, s.name).toBe(`${s.name}-${s.numberOfKeys}.lua`);
      if (EXPECTED_KEYS[s.name] !== undefined)
        expect(s.numberOfKeys, s.name).toBe(EXPECTED_KEYS[s.name]);
      expect(s.lua, s.name).not.toMatch(/^--@include/m);
      const nowDefs = s.lua.match(/local function now_ms\(/g)?.length ?? 0;
      expect(nowDefs, `${s.name} defines the common helpers at most once`).toBeLessThanOrEqual(1);
      if (EXPECTED_KEYS[s.name] !== undefined) expect(nowDefs, s.name).toBe(1);
      const holdDefs = s.lua.match(/local function load_active_hold\(/g)?.length ?? 0;
      expect(holdDefs, s.name).toBe(
        ['reserve', 'confirm', 'cancel', 'extend', 'decideMany'].includes(s.name) ? 1 : 0,
      );
    }
    expect(loadScripts()).toBe(scripts); // cached per process
  });

  it('refuses to run a script on a client it was not registered on', () => {
    const bare = new Redis(f.env.redisUrl, { lazyConnect: true });
    expect(() => runScript(bare, 'forwardMany', ['a', 'b'], [1])).toThrow(/not registered/);
    bare.disconnect();
  });

  it('registers idempotently and runs by EVALSHA (the script is cached server-side)', async () => {
    const h = f.harness();
    expect(registerScripts(h.r)).toBe(h.r);
    expect(registerScripts(h.r)).toBe(h.r);
    await h.admin(restock('r1', 'A', 1), T0);
    const sha = createHash('sha1').update(loadScripts().get('restock')!.lua).digest('hex');
    expect(await h.r.script('EXISTS', sha)).toEqual([1]);
  });

  it('passes only keys of one shard hash tag, except the public outcomes stream', () => {
    const keys = new Keys('ns:', 'main');
    const gate = new Gate(keys, CFG);
    const calls: Array<{ name: string; args: unknown[] }> = [];
    // A recorder standing in for a pipeline: captures what Gate would send, runs nothing.
    const recorder = new Proxy(
      {},
      {
        get:
          (_t, prop) =>
          (...args: unknown[]) => {
            calls.push({ name: String(prop).replace(/^hf_/, ''), args });
            return recorder;
          },
      },
    ) as unknown as ChainableCommander;
    for (const cmd of [
      reserve('e', 'c', 'u', [['A', 1]]),
      confirm('e', 'c'),
      cancel('e', 'c'),
      extend('e', 'c'),
    ]) {
      gate.queue(recorder, cmd, T0);
    }
    gate.queueAdmin(recorder, restock('e', 'A', 1), T0);
    gate.queueAdmin(recorder, setLimit('e', 'A', 1), T0);
    const tag = (k: string) => /\{([^}]*)\}/.exec(k)?.[1];
    for (const c of calls) {
      const n = EXPECTED_KEYS[c.name]!;
      const ks = c.args.slice(0, n) as string[];
      // Every key, the public outcome stream included (checkout:outcomes:{main}), is in the
      // shard's slot.
      for (const k of ks) expect(tag(k), `${c.name} key ${k}`).toBe('main');
    }
    expect(calls.map((c) => c.name)).toEqual([
      'reserve',
      'confirm',
      'cancel',
      'extend',
      'restock',
      'setLimit',
    ]);
    expect(keys.shard().outcomes).toBe('ns:checkout:outcomes:{main}');
  });
});
