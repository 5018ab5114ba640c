/** Reading a service's Prometheus metrics in tests and probes. */

/**
 * The value of one metric in a Prometheus text exposition: the sum of its samples whose labels
 * include `labels`, or undefined when there is none.
 */
export function sampleOf(
  body: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  let sum = 0;
  let found = false;
  for (const line of body.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = m[3] ?? '';
    if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) {
      sum += Number(m[4]);
      found = true;
    }
  }
  return found ? sum : undefined;
}

/** Fetches a service's /metrics and returns the value of one sample (sum over label sets). */
export async function scrapeMetric(
  port: number,
  name: string,
  labels: Record<string, string> = {},
) {
  return sampleOf(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), name, labels);
}
