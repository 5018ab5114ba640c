/**
 * The demo's report.html in a real headless Chromium (Debian's, /usr/bin/chromium, installed by
 * scripts/ensure-chromium.sh): it loads offline with no console error, no request other than
 * the file itself, and its charts are drawn.
 *
 * A missing Chromium fails this test (CI installs it; a skipped browser test proves nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { isolatedEnv, type IsolatedEnv } from '@holdfast/testkit';
import { DEMO_BIN, commandLine } from '@holdfast/testkit';

const { run: runDemo } = commandLine(DEMO_BIN);

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('report.html in Chromium', () => {
  let env: IsolatedEnv;
  let out: string;
  let browser: Browser | undefined;
  let html: string;

  const missing = !existsSync(CHROMIUM);

  beforeAll(async () => {
    if (missing) return; // the test itself fails, with the message below
    env = await isolatedEnv();
    out = await mkdtemp(join(tmpdir(), 'hf-demo-html-'));
    const r = await runDemo(['--buyers', '1500', '--out', out, '--no-progress'], env.env, 240_000);
    if (r.code !== 0)
      throw new Error(`the demo failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    const [dir] = (await readdir(out)).filter((d) => d.startsWith('demo-'));
    html = join(out, dir!, 'report.html');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await env?.cleanup();
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('opens offline: no console error, no failed or external request, charts drawn', async () => {
    if (missing) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: this test needs a real browser. Install it with ` +
          '`bash scripts/ensure-chromium.sh` (apt-get install chromium; CI runs it before the tests).',
      );
    }
    const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
    const consoleErrors: string[] = [];
    const pageErrors: string[] = [];
    const failed: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    page.on('request', (r) => requests.push(r.url()));

    const url = pathToFileURL(html).href;
    const res = await page.goto(url, { waitUntil: 'load' });
    expect(res?.ok() ?? true).toBe(true);
    // Give late resource loads (fonts, images, favicon) a chance to show up.
    await page.waitForTimeout(500);

    expect(consoleErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(failed).toEqual([]);
    expect(requests).toEqual([url]);

    await expect(page.title()).resolves.toMatch(/every invariant holds/);
    expect(await page.locator('.verdict').innerText()).toMatch(/Every invariant holds/);

    // Time-series charts: each has drawn series with many points and a real size on screen.
    for (const id of ['chart-decisions', 'chart-ledger-lag', 'chart-progress', 'chart-holds']) {
      const chart = page.locator(`svg#${id}`);
      await expect(chart.count()).resolves.toBe(1);
      const box = await chart.boundingBox();
      expect(box?.width, id).toBeGreaterThan(300);
      expect(box?.height, id).toBeGreaterThan(150);
      const paths = await chart.locator('path.series').evaluateAll((els) =>
        els.map((e) => ({
          d: e.getAttribute('d') ?? '',
          width: (e as unknown as { getBBox(): { width: number } }).getBBox().width,
        })),
      );
      expect(paths.length, id).toBeGreaterThan(0);
      const drawn = paths.filter((p) => (p.d.match(/[ML]/g) ?? []).length > 5 && p.width > 100);
      expect(
        drawn.length,
        `${id}: ${JSON.stringify(paths.map((p) => p.d.slice(0, 60)))}`,
      ).toBeGreaterThan(0);
    }
    // The decisions/s series rises above 0 somewhere (its path leaves the x axis).
    const ys = await page
      .locator('svg#chart-decisions path.series')
      .first()
      .evaluate((e) =>
        [...(e.getAttribute('d') ?? '').matchAll(/[ML][\d.]+,([\d.]+)/g)].map((m) => Number(m[1])),
      );
    expect(Math.max(...ys) - Math.min(...ys)).toBeGreaterThan(20);

    // Latency histogram: bars with height.
    const bars = await page
      .locator('svg#chart-latency rect.bar')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('height'))));
    expect(bars.length).toBeGreaterThan(5);
    expect(bars.some((h) => h > 10)).toBe(true);

    // The tables: every invariant row is a ✓, and every SKU is listed.
    const marks = await page.locator('table.inv td:first-child').allInnerTexts();
    expect(marks).toHaveLength(6);
    expect(marks.every((m) => m.trim() === '✓')).toBe(true);
    await expect(page.locator('text=WARM-50').count()).resolves.toBeGreaterThan(0);
    await page.close();
  });
});
