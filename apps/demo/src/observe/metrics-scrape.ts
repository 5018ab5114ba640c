/** A counter of a service's /metrics, read while the crowd runs (a slow service must not stall the sampler). */
import { sampleOf } from '@holdfast/fleet';

/** Sum of one counter over a service's /metrics (undefined if unreachable, slow or absent). */
export async function scrapeCounter(port: number, name: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(1_000),
    });
    return sampleOf(await res.text(), name);
  } catch {
    return undefined;
  }
}
