#!/usr/bin/env node
// The flash-sale demo on its own (`holdfast demo` runs the same): the TypeScript source through
// tsx (resolved from this package).
import { register } from 'tsx/esm/api';

register();
const { runDemo } = await import(new URL('../src/index.ts', import.meta.url).href);
process.exitCode = await runDemo(process.argv.slice(2));
