import { prom, type Registry } from '@holdfast/shared';

export function reserverMetrics(registry: Registry) {
  return {
    decisionLatency: new prom.Histogram({
      name: 'holdfast_decision_latency_seconds',
      help: 'From the producer’s XADD (entry id time) to the decision in Redis.',
      labelNames: ['type', 'shard'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    holdsActive: new prom.Gauge({
      name: 'holdfast_holds_active',
      help: 'Holds reserved and not yet confirmed, cancelled or expired, per shard.',
      labelNames: ['shard'],
      registers: [registry],
    }),
    holdsExpired: new prom.Counter({
      name: 'holdfast_holds_expired_total',
      help: 'Holds released by the expiry sweep, per shard.',
      labelNames: ['shard'],
      registers: [registry],
    }),
  };
}
