/**
 * `holdfast demo` / `holdfast bench`: thin dispatch to ./demo/index.ts and ./bench/index.ts,
 * written separately. Such a module exports `run(args: string[]): Promise<number | void>`
 * (or a default function of the same shape) and returns its exit code.
 */
import { CliError, EXIT } from './errors.js';

type PluginModule = {
  run?: (args: string[]) => Promise<number | void>;
  runDemo?: (args: string[]) => Promise<number | void>;
  default?: (args: string[]) => Promise<number | void>;
};

export async function runPlugin(name: 'demo' | 'bench', args: string[]): Promise<number> {
  const url = new URL(`./${name}/index.js`, import.meta.url);
  let mod: PluginModule;
  try {
    mod = (await import(url.href)) as PluginModule;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const missing =
      (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') &&
      String(e.message).includes(`${name}/index`);
    if (missing) throw new CliError(`${name}: not built yet`, EXIT.failed);
    throw err;
  }
  const fn = mod.run ?? mod.runDemo ?? mod.default;
  if (typeof fn !== 'function')
    throw new CliError(`${name}: not built yet (no run() export)`, EXIT.failed);
  return (await fn(args)) ?? EXIT.ok;
}
