import { prom, type Registry } from '@holdfast/shared';

export function ledgerMetrics(registry: Registry) {
  return {
    batchSize: new prom.Histogram({
      name: 'holdfast_ledger_batch_size',
      help: 'Ledger entries per MySQL transaction.',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers: [registry],
    }),
    writeLatency: new prom.Histogram({
      name: 'holdfast_ledger_write_latency_seconds',
      help: 'Time of one ledger transaction (begin to commit), retries excluded.',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    rowsWritten: new prom.Counter({
      name: 'holdfast_ledger_rows_written_total',
      help: 'Ledger rows committed to MySQL.',
      registers: [registry],
    }),
    retries: new prom.Counter({
      name: 'holdfast_ledger_retries_total',
      help: 'Ledger transactions retried, by cause (deadlock, lock_timeout, duplicate_race, connection).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    incidents: new prom.Counter({
      name: 'holdfast_ledger_incidents_total',
      help: 'Ledger changes refused by MySQL-side invariant checks (never applied silently).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
export type LedgerMetrics = ReturnType<typeof ledgerMetrics>;
