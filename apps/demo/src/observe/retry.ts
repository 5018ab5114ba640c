/** The taps' reads survive a Redis restart: a failed read is retried after a pause. */
import { setTimeout as sleep } from 'node:timers/promises';

/** Runs a read; on failure waits 200 ms and resolves null (the caller's loop reads again). */
export async function retrying<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch {
    await sleep(200);
    return null;
  }
}
