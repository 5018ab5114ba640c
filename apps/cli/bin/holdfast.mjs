#!/usr/bin/env node
// The `holdfast` command: runs the TypeScript source through tsx (resolved from this package).
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/main.ts', import.meta.url).href);
