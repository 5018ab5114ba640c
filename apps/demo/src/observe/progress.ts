/**
 * Live progress: cli-progress bars on a terminal (redrawn at most 5×/s), a plain status line
 * every 5 s when stderr is not a terminal, nothing with --no-progress.
 */
import cliProgress from 'cli-progress';
import { fmt } from '../format.js';
import type { Sample } from './sampler.js';

export interface ProgressView {
  update(s: Sample): void;
  /** A line above the bars (or plain). */
  log(line: string): void;
  stop(): void;
}

/** Compact seconds for the progress lines (`12.3s`). */
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export interface ProgressOptions {
  enabled: boolean;
  buyers: number;
  stream?: NodeJS.WriteStream;
  out: (line: string) => void;
}

export function createProgress(opts: ProgressOptions): ProgressView {
  const stream = opts.stream ?? process.stderr;
  if (!opts.enabled) return { update() {}, log: opts.out, stop() {} };
  return stream.isTTY ? progressBars(stream, opts) : statusLines(stream, opts);
}

/** Not a terminal: a plain status line every 5 s. */
function statusLines(stream: NodeJS.WriteStream, opts: ProgressOptions): ProgressView {
  let lastAt = 0;
  return {
    update(s) {
      if (s.t - lastAt < 5_000) return;
      lastAt = s.t;
      stream.write(
        `[+${secs(s.t)}] sent ${fmt(s.sent)}/${fmt(opts.buyers)} · reserves decided ${fmt(s.reservesDecided)} · ` +
          `outcomes ${fmt(s.outcomes)} · ${fmt(s.decisionsPerSec)} decisions/s · ledger lag ${fmt(s.ledgerLag)} · ` +
          `MySQL rows ${s.ledgerRows === null ? '?' : fmt(s.ledgerRows)} · active holds ${fmt(s.activeHolds)}\n`,
      );
    },
    log: opts.out,
    stop() {},
  };
}

/** A terminal: four cli-progress bars (buyers, decided, MySQL, holds), redrawn at most 5×/s. */
function progressBars(stream: NodeJS.WriteStream, opts: ProgressOptions): ProgressView {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      fps: 5,
      barsize: 28,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
      barCompleteChar: '█',
      barIncompleteChar: '░',
      format: ' {label} {bar} {percentage}% {text}',
      formatValue: (v, _o, type) => (type === 'percentage' ? String(v).padStart(3) : String(v)),
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = (label: string, total: number) =>
    multi.create(total, 0, { label: label.padEnd(8), text: '' });
  const sent = bar('buyers', opts.buyers);
  const decided = bar('decided', opts.buyers);
  const mysql = bar('MySQL', 1);
  const holds = multi.create(
    1,
    0,
    { label: 'holds'.padEnd(8), text: '' },
    { format: ' {label} {text}' },
  );
  return {
    update(s) {
      sent.update(s.sent, {
        text: `${fmt(s.sent)}/${fmt(opts.buyers)} buyers sent · events ${fmt(s.events)} · +${secs(s.t)}`,
      });
      decided.update(s.reservesDecided, {
        text:
          `${fmt(s.reservesDecided)} reserves decided · ${fmt(s.decisionsPerSec)} decisions/s · outcomes ${fmt(s.outcomes)} · ` +
          `backlog ${fmt(s.eventBacklog)}`,
      });
      const committed = Math.max(0, s.ledgerEntries - s.ledgerLag);
      mysql.setTotal(Math.max(1, s.ledgerEntries));
      mysql.update(committed, {
        text: `${s.ledgerRows === null ? '?' : fmt(s.ledgerRows)} ledger rows written · ledger lag ${fmt(s.ledgerLag)}`,
      });
      holds.update(0, {
        text:
          `active ${fmt(s.activeHolds)} · expired ${fmt(s.expired)} · held ${fmt(s.held)} · sold ${fmt(s.sold)} · ` +
          `HOT-1 left ${fmt(s.hotAvailable)} · variance ${s.variance === null ? '–' : fmt(s.variance)}`,
      });
    },
    log(line) {
      multi.log(`${line}\n`);
    },
    stop() {
      multi.stop();
    },
  };
}
