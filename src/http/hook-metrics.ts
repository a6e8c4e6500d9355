/**
 * The `/metrics` series of the commands the server runs (src/hooks): commands running, started and
 * exited, the ones not started and why (hooksMaxProcesses, a bad command line), path names refused for
 * an unsafe regex capture, and leftovers of a killed run ended at start. No labels: a command line or a
 * path name from a hostile URL never becomes a label.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HookCounters } from '../hooks/hooks.js';

export interface HookFigures {
  counters: Readonly<HookCounters>;
  running: number;
}

const HOOK_COUNTERS: readonly [keyof HookCounters, string, string][] = [
  ['started', 'rtspkit_hooks_started_total', 'Commands (runOn*) started, restarts included.'],
  ['exited', 'rtspkit_hooks_exited_total', 'Commands that exited (ended by the server or by themselves).'],
  ['refusedAtLimit', 'rtspkit_hooks_refused_total', 'Commands not started: hooksMaxProcesses were running.'],
  [
    'badCommandLines',
    'rtspkit_hooks_bad_command_lines_total',
    'Commands not started: the line could not be split.',
  ],
  [
    'unsafeCaptures',
    'rtspkit_paths_unsafe_captures_total',
    'Path names refused: a regex capture had unsafe characters.',
  ],
  ['leftoversEnded', 'rtspkit_hooks_leftovers_ended_total', 'Commands a killed run left, ended at start.'],
];

export class HookMetrics {
  readonly #counters: Counter[];
  readonly #running: Gauge;

  constructor(registers: Registry[]) {
    this.#counters = HOOK_COUNTERS.map(([, name, help]) => new Counter({ name, help, registers }));
    this.#running = new Gauge({
      name: 'rtspkit_hooks_running',
      help: 'Commands (runOn*) running now.',
      registers,
    });
  }

  refresh(figures: HookFigures): void {
    HOOK_COUNTERS.forEach(([field], i) => {
      this.#counters[i]!.reset();
      this.#counters[i]!.inc(figures.counters[field]);
    });
    this.#running.set(figures.running);
  }
}
