#!/usr/bin/env node
// The flash-sale demo on its own (`holdfast demo` runs the same commander Command): the
// TypeScript source through tsx (resolved from this package).
import { register } from 'tsx/esm/api';

register();
const { runDemoCommand } = await import(new URL('../src/command.ts', import.meta.url).href);
process.exitCode = await runDemoCommand(process.argv.slice(2));
