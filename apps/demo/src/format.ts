/** Number and duration formats of the terminal text, the progress lines and report.html. */

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const msText = (ms: number) =>
  ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${fmt(ms)} ms`;
