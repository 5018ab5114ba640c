/**
 * Loads the Lua scripts beside this file and registers them on an ioredis client with
 * defineCommand, so they run by EVALSHA with ioredis' own fallback to EVAL on NOSCRIPT.
 *
 * Files are named `<name>-<numKeys>.lua` (the key count lives in the name, as in BullMQ) and
 * may pull shared code from ./includes with a `--@include "file"` line. The batch scripts have a
 * fixed key count too: per-event keys are built inside the script from the shard prefix.
 *
 * Every script starts with a `#!lua` shebang (Redis 7 function flags): on Redis Cluster, Redis
 * then refuses any key outside the slot of the declared keys, including keys a script builds
 * itself — so a key that strays from the shard's hash tag fails in tests instead of working only
 * while its slot happens to sit on the same node. (Without the shebang Redis lets a script reach
 * any key of its node.) The reconciler's read-only snapshot says so with `flags=no-writes`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChainableCommander, Redis } from 'ioredis';

const here = dirname(fileURLToPath(import.meta.url));

export const SCRIPT_NAMES = [
  'reserve',
  'confirm',
  'cancel',
  'extend',
  'expireDue',
  'restock',
  'setLimit',
  'forwardMany',
  'decideMany',
  'snapshot',
  'seed',
  'deadLetter',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export interface LoadedScript {
  name: ScriptName;
  numberOfKeys: number;
  lua: string;
}

function inline(source: string, seen: Set<string>): string {
  return source.replace(/^--@include "([\w-]+)"\s*$/gm, (_m, inc: string) => {
    if (seen.has(inc)) return '';
    seen.add(inc);
    return inline(readFileSync(join(here, 'includes', `${inc}.lua`), 'utf8'), seen);
  });
}

let cache: Map<ScriptName, LoadedScript> | undefined;

/** Reads and inlines every script once per process. */
export function loadScripts(): Map<ScriptName, LoadedScript> {
  if (cache) return cache;
  const out = new Map<ScriptName, LoadedScript>();
  for (const file of readdirSync(here)) {
    const m = /^(\w+?)-(\d+)\.lua$/.exec(file);
    if (!m) continue;
    const name = m[1] as ScriptName;
    if (!SCRIPT_NAMES.includes(name)) throw new Error(`unregistered Lua script ${file}`);
    out.set(name, {
      name,
      numberOfKeys: Number(m[2]),
      lua: inline(readFileSync(join(here, file), 'utf8'), new Set()),
    });
  }
  for (const n of SCRIPT_NAMES) if (!out.has(n)) throw new Error(`missing Lua script ${n}`);
  for (const s of out.values()) {
    if (!s.lua.startsWith('#!lua')) throw new Error(`Lua script ${s.name} lacks its #!lua shebang`);
  }
  cache = out;
  return out;
}

const registered = new WeakSet<Redis>();

/** Registers every script on a client (idempotent). Commands are named `hf_<name>`. */
export function registerScripts(client: Redis): Redis {
  if (registered.has(client)) return client;
  for (const s of loadScripts().values()) {
    client.defineCommand(`hf_${s.name}`, { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }
  registered.add(client);
  return client;
}

type Arg = string | number;
type Commandable = Redis | ChainableCommander;

/**
 * Runs a script on a client or queues it on a pipeline/multi. Keys and args are positional,
 * as each script's header documents.
 */
export function runScript<T = unknown>(
  client: Redis,
  name: ScriptName,
  keys: readonly string[],
  args: readonly Arg[],
): Promise<T>;
export function runScript(
  client: ChainableCommander,
  name: ScriptName,
  keys: readonly string[],
  args: readonly Arg[],
): ChainableCommander;
export function runScript(
  client: Commandable,
  name: ScriptName,
  keys: readonly string[],
  args: readonly Arg[],
): unknown {
  const fn = (client as unknown as Record<string, (...a: Arg[]) => unknown>)[`hf_${name}`];
  if (typeof fn !== 'function') {
    throw new Error(`script ${name} is not registered on this client (call registerScripts)`);
  }
  return fn.call(client, ...keys, ...args);
}
