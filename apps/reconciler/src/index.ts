export { Reconciler } from './reconciler.js';
export {
  reconcileAll,
  reconcileShard,
  shardOfBooks,
  type ReconcileReport,
  type SkuVariance,
} from './reconcile.js';
export { reconcilerEnv, type ReconcilerConfig } from './config.js';
