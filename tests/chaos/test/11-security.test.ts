/**
 * 11. Security:
 *   - REDIS_URL / MYSQL_URL with passwords work: the scenario's own Redis with --requirepass
 *     and its own MariaDB with a user that has a password (both passwords contain URL-special
 *     characters, percent-encoded in the URLs); the whole fleet runs on them under load;
 *   - no password (raw or percent-encoded) appears in any output line of any service — also
 *     while Redis restarts and MySQL is down, and from services started with *wrong* passwords
 *     — nor in /metrics or /healthz, in the CLI's output and errors, or in a child's argv;
 *   - every SQL statement in apps/<app>/src and packages/shared/src is parameterized (static
 *     scan, src/sqlscan.ts; reviewed exceptions listed there with their reason);
 *   - an admin entry on the checkout stream is dead-lettered as wrong_stream (and a checkout
 *     entry on the admin stream too).
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { ChaosFleet } from '../src/fleet.js';
import { REPO_ROOT, scenario, names, readAll, runCli, sleep } from '../src/harness.js';
import { Shoppers } from '../src/load.js';
import { scanSql } from '../src/sqlscan.js';

it('11 passwords, secret-free output, parameterized SQL, wrong_stream', async () => {
  const hex = randomBytes(4).toString('hex');
  const redisPassword = `R3d!s:p@ss/${hex}`;
  const mysqlPassword = `My$ql#p@ss:${hex}`;
  const secrets = [
    redisPassword,
    mysqlPassword,
    encodeURIComponent(redisPassword),
    encodeURIComponent(mysqlPassword),
    `p@ss/${hex}`,
    `p@ss:${hex}`,
  ];
  const leaks: string[] = [];
  const leakKinds = new Map<string, number>();
  const scan = (where: string, text: string) => {
    for (const s of secrets) {
      const i = text.indexOf(s);
      if (i < 0) continue;
      leaks.push(`${where}: …${text.slice(Math.max(0, i - 100), i + s.length + 20)}…`);
      // Group by where (child, stream) and the log message, for the summary.
      let msg = '';
      try {
        msg = String((JSON.parse(text) as { msg?: unknown }).msg ?? '');
      } catch {
        msg = text.slice(0, 40);
      }
      const key = `${where.replace(/#\d+/, '')} "${msg}"${/"name":"auth"/.test(text) ? ' (ReplyError.command.args of AUTH)' : ''}`;
      leakKinds.set(key, (leakKinds.get(key) ?? 0) + 1);
      break;
    }
  };
  const opts = {
    privateRedis: { password: redisPassword },
    privateMysql: true,
    mysqlUser: { user: 'hf_chaos', password: mysqlPassword },
  };
  await scenario(
    '11',
    'security: passwords in URLs, secret-free output, parameterized SQL, wrong_stream',
    opts,
    async (stage) => {
      expect(stage.redisUrl).toContain(encodeURIComponent(redisPassword));
      expect(stage.mysqlUrl).toContain(encodeURIComponent(mysqlPassword));
      const n = names(stage.namespace);
      const fleet = await stage.fleet({
        name: 's11',
        keepAllLines: true,
        env: { LOG_LEVEL: 'debug' },
      });
      await stage.arm(Object.fromEntries(Array.from({ length: 6 }, (_, s) => [`P${s}`, 200])));
      stage.startSampler();
      const shoppers = new Shoppers({
        redisUrl: stage.redisUrl,
        traffic: stage.traffic,
        checkouts: 1200,
        ratePerSec: 200,
        prefix: 'o',
        cart: (i) => [[`P${i % 6}`, 1]],
      }).start();
      await stage.traffic.sendRaw(n.events, [
        {
          fields: ['type', 'restock', 'event_id', 'ws-1', 'sku', 'P0', 'qty', '500'],
          kind: 'admin entry on the checkout stream',
        },
      ]);
      await stage.traffic.sendRaw(n.admin, [
        {
          fields: [
            'type',
            'reserve',
            'event_id',
            'ws-2',
            'checkout_id',
            'c',
            'user_id',
            'u',
            'sku',
            'P0',
            'qty',
            '1',
          ],
          kind: 'checkout entry on the admin stream',
        },
      ]);
      // Errors with the credentials in play: Redis restarts, MySQL goes away for a while.
      await sleep(1500);
      await stage.redisServer!.stop();
      await sleep(500);
      await stage.redisServer!.restart();
      await stage.mysqlServer!.stop();
      await sleep(3000);
      await stage.mysqlServer!.restart();
      const faultEnd = Date.now();
      // Services started with wrong passwords: they fail, and must say so without the secret.
      const wrongRedis = stage.redisUrl.replace(
        encodeURIComponent(redisPassword),
        encodeURIComponent(`${redisPassword}x`),
      );
      const wrongMysql = stage.mysqlUrl.replace(
        encodeURIComponent(mysqlPassword),
        encodeURIComponent(`${mysqlPassword}x`),
      );
      secrets.push(
        `${redisPassword}x`,
        `${mysqlPassword}x`,
        encodeURIComponent(`${redisPassword}x`),
        encodeURIComponent(`${mysqlPassword}x`),
      );
      const bad = await stage.fleet({
        name: 's11bad',
        keepAllLines: true,
        noWait: true,
        env: { REDIS_URL: wrongRedis, MYSQL_URL: wrongMysql, LOG_LEVEL: 'debug' },
      });
      const recoverMs = await stage.recovery(faultEnd);
      await shoppers.sent();
      await stage.quiesce();
      await shoppers.stop();

      // The CLI, right and wrong credentials.
      const cliRuns = [
        await runCli(['stock', 'show', '--json'], stage.env()),
        await runCli(['reconcile', '--once'], stage.env()),
        await runCli(['stock', 'show'], stage.env({ REDIS_URL: wrongRedis })),
        await runCli(['reconcile', '--once'], stage.env({ MYSQL_URL: wrongMysql })),
        await runCli(
          ['stock', 'show'],
          stage.env({
            MYSQL_URL:
              'mysql://hf_chaos:' + encodeURIComponent(mysqlPassword) + '@127.0.0.1:1/nowhere',
          }),
        ),
      ];
      cliRuns.forEach((c, i) => scan(`cli run ${i} (exit ${c.code})`, `${c.stdout}\n${c.stderr}`));
      const badLines = bad.lines.length;
      const badStarted = bad.children.filter((c) => c.state === 'running').length;
      await bad.stop();
      // Every service's output, metrics, health and argv.
      for (const f of [fleet, bad]) for (const l of f.lines) scan(`${l.child} ${l.stream}`, l.line);
      for (const c of fleet.children) {
        scan(`${c.name} /metrics`, await ChaosFleet.metricsText(c));
        scan(`${c.name} /healthz`, (await ChaosFleet.probe(c)).detail);
        try {
          scan(`${c.name} argv`, readFileSync(`/proc/${c.pid}/cmdline`, 'utf8'));
        } catch {
          /* gone */
        }
      }
      // Dead letters name their reason.
      const dead = await readAll(stage.redis, n.dead);
      const wrongStream = dead
        .filter((d) => d.f.reason === 'wrong_stream')
        .map((d) => `${d.f.source_stream}:${d.f.event_id}`);
      // Parameterized SQL.
      const sql = scanSql(REPO_ROOT);
      const unsafe = sql
        .filter((x) => x.verdict === 'UNSAFE')
        .map(
          (x) => `${x.file}:${x.line} \${${x.expr}} in ${x.sql.replace(/\s+/g, ' ').slice(0, 120)}`,
        );
      const unreviewed = sql.indirect
        .filter((x) => !x.reason)
        .map((x) => `${x.file}:${x.line} query(${x.expr})`);
      const byVerdict: Record<string, number> = {};
      for (const x of sql) byVerdict[x.verdict] = (byVerdict[x.verdict] ?? 0) + 1;

      const r = await stage.check();
      const lines = fleet.lines.length + badLines;
      const f = stage.finish(
        '11',
        'security: passwords in URLs, secret-free output, parameterized SQL, wrong_stream',
        r,
        {
          recoverMs,
          crashingFleets: [bad],
          notes:
            `${lines} output lines (${badLines} from services given wrong passwords, ${badStarted} of which started), ${fleet.children.length} /metrics, ${cliRuns.length} CLI runs scanned: ${leaks.length} leaks${leakKinds.size ? ` (${[...leakKinds].map(([k, v]) => `${v}× ${k}`).join('; ')})` : ''}; ` +
            `SQL splices ${JSON.stringify(byVerdict)}, ${sql.indirect.length} indirect query() calls reviewed; wrong_stream dead letters: ${wrongStream.join(', ')}`,
          extraFailures: {
            leaks: leaks.slice(0, 10),
            unsafeSql: unsafe,
            unreviewedQueries: unreviewed,
            ...(wrongStream.length !== 2
              ? {
                  wrongStream: [
                    `expected 2 wrong_stream dead letters, got ${JSON.stringify(wrongStream)}`,
                  ],
                }
              : {}),
          },
        },
      );
      expect(f).toEqual({});
      expect(cliRuns[0]!.code).toBe(0);
      expect(cliRuns[2]!.code).not.toBe(0);
      expect(cliRuns[3]!.code).not.toBe(0);
      expect(badStarted).toBe(0);
    },
  );
});
