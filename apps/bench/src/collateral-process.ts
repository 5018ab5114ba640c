/**
 * The collateral traffic (./collateral.ts) as a process of its own: the rest of the shop runs
 * on other application servers, so its latency must not include the benchmark client's event
 * loop (A's producers, B's 64 buyers) and its CPU is no system's.
 *
 * argv[2]: {"mysqlUrl": …, "spec": CollateralSpec}. Prints {"ready":true} once prepared;
 * stdin "start" begins the traffic; the end of stdin stops it: prints the result line, exits.
 */
import { prepareCollateral, type CollateralSpec } from './collateral.js';

const { mysqlUrl, spec } = JSON.parse(process.argv[2] ?? '{}') as {
  mysqlUrl: string;
  spec: CollateralSpec;
};
const traffic = await prepareCollateral(mysqlUrl, spec);
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d: string) => {
  if (d.includes('start')) traffic.start();
});
process.stdin.on('end', () => {
  void traffic.stop().then((result) => {
    process.stdout.write(JSON.stringify({ result }) + '\n', () => process.exit(0));
  });
});
