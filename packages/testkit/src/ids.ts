/** Random ids for test names (namespaces, databases, events). */
import { randomBytes } from 'node:crypto';

export function randomId(bytes = 4): string {
  return randomBytes(bytes).toString('hex');
}
