#!/usr/bin/env node
// tlc command-line entry: loads the TypeScript sources through tsx (no separate build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
