/**
 * vitest setup file (`setupFiles` of the packages whose tests use `startService`): after each
 * test file, kill the services it started with `startService` and did not stop — a test that failed half-way must not leave processes loading the
 * machine for the suites after it. (A process 'exit' hook is not enough: vitest ends its
 * workers with a signal.)
 */
import { afterAll } from 'vitest';
import { killLeftovers } from '@holdfast/fleet';

afterAll(() => {
  const n = killLeftovers();
  if (n) console.warn(`killed ${n} service process(es) the test file left running`);
});
