/**
 * A child's output as the supervisor sees it (followChild): lines of both pipes, JSON records,
 * the "started" record, and an end reported only after the last line.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { followChild, parseRecord, type ChildExit } from '../src/child-output.js';

function follow(script: string) {
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const seen: string[] = [];
  const ended = new Promise<ChildExit>((resolve) =>
    followChild(proc, {
      started: (port) => seen.push(`started ${port}`),
      line: (stream, line, record) => seen.push(`${stream} ${line}${record ? ' (record)' : ''}`),
      ended: (exit) => {
        seen.push('ended');
        resolve(exit);
      },
    }),
  );
  return { seen, ended };
}

describe('followChild', { timeout: 30_000 }, () => {
  it('reports every line, the "started" record first, and the end last', async () => {
    const { seen, ended } = follow(`
      console.log('hello');
      console.error('oops');
      console.log(JSON.stringify({ msg: 'started', metricsPort: 4242 }));
      console.log(JSON.stringify({ msg: 'started', metricsPort: 0 }));
      for (let i = 0; i < 2000; i++) console.log('line ' + i);
      process.exitCode = 3;
    `);
    expect(await ended).toEqual({ code: 3, signal: null });
    expect(seen.at(-1)).toBe('ended');
    expect(seen.at(-2)).toBe('stdout line 1999');
    // The two pipes are read independently: only each one's own order is given.
    expect(seen).toContain('stderr oops');
    expect(seen.filter((s) => !/^stdout line|^stderr/.test(s))).toEqual([
      'stdout hello',
      'started 4242',
      'stdout {"msg":"started","metricsPort":4242} (record)',
      'started undefined',
      'stdout {"msg":"started","metricsPort":0} (record)',
      'ended',
    ]);
  });

  it('reports a killed child with its signal', async () => {
    const { ended } = follow(`process.kill(process.pid, 'SIGKILL')`);
    expect(await ended).toEqual({ code: null, signal: 'SIGKILL' });
  });
});

describe('parseRecord', () => {
  it('parses a JSON object, nothing else', () => {
    expect(parseRecord('{"msg":"x","n":1}')).toEqual({ msg: 'x', n: 1 });
    expect(parseRecord('{not json')).toBeUndefined();
    expect(parseRecord('[1,2]')).toBeUndefined();
    expect(parseRecord(' {"msg":"x"}')).toBeUndefined();
    expect(parseRecord('null')).toBeUndefined();
    expect(parseRecord('plain')).toBeUndefined();
  });
});
