export { Reserver } from './reserver.js';
export { reserverEnv, gateConfig, type ReserverConfig } from './config.js';
