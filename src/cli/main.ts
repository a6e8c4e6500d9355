#!/usr/bin/env node
/**
 * The `rtspkit` program: `serve` starts again with the Node flags it needs (node-flags.ts) before
 * anything else is loaded; then the command line (program.ts).
 */
import { followParent, nodeFlagsToAdd, runWithNodeFlags } from './node-flags.js';

const flags = nodeFlagsToAdd(process.argv.slice(2), process.execArgv, process.env);
if (flags.length > 0) runWithNodeFlags(flags);
else {
  followParent();
  await import('./program.js');
}
