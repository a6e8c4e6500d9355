// Percentiles and the text tables of the bench runners.

/** Nearest-rank percentile (`p` in 0..100); NaN for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** `x` with `digits` decimals; '-' for undefined and NaN. */
export function fmt(x: number | undefined, digits = 0): string {
  return x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits);
}

/** "p50/p99" of `xs`, whole numbers. */
export const p50p99 = (xs: readonly number[]): string =>
  `${fmt(percentile(xs, 50))}/${fmt(percentile(xs, 99))}`;

/**
 * A Markdown table: the first three columns left-aligned, the rest right-aligned. A row with fewer cells than
 * `head` (an error) is written as it is and does not count for the widths.
 */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r.length === head.length ? r[i]!.length : 0))),
  );
  const line = (cells: readonly string[]): string =>
    cells.length === head.length
      ? `| ${cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`
      : `| ${cells.join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
