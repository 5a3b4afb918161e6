/**
 * One progress interface for long work: a single live line in a terminal, or a
 * callback (a notebook turns it into a display updated in place). Never a scroll of log lines.
 *
 * @example
 * ```ts
 * import { terminalProgress } from "./progress.ts";
 * const p = terminalProgress("pretrain");
 * for (let i = 1; i <= 10; i++) p.update({ done: i, total: 10, fields: { loss: 3.2 } });
 * p.finish();
 * ```
 * @module
 */

/** One progress report. */
export interface ProgressEvent {
  /** Units of work done so far (steps, documents, examples). */
  done: number;
  /** Total units, when known. */
  total?: number;
  /** Extra named values to show (loss, tokens/s, ...). */
  fields?: Record<string, number | string>;
}

/** Receives progress; `finish` is called once at the end. */
export interface Progress {
  /** Report the current state (cheap; implementations throttle output). */
  update(ev: ProgressEvent): void;
  /** Close the display (prints the final line / newline). */
  finish(message?: string): void;
}

/** A progress sink that ignores everything. */
export const silentProgress: Progress = { update() {}, finish() {} };

/** Formats seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

function fmtValue(v: number | string): string {
  if (typeof v === "string") return v;
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(4);
}

/**
 * Renders a progress event as one line: `label 12/100 (12%) loss=3.2000 eta 1m05s`.
 * Pure; the ETA comes from `elapsedSec` and the fraction done.
 */
export function formatProgressLine(label: string, ev: ProgressEvent, elapsedSec: number): string {
  const parts = [label];
  if (ev.total !== undefined && ev.total > 0) {
    const pct = (100 * ev.done / ev.total).toFixed(0);
    parts.push(`${ev.done}/${ev.total} (${pct}%)`);
  } else parts.push(String(ev.done));
  for (const [k, v] of Object.entries(ev.fields ?? {})) parts.push(`${k}=${fmtValue(v)}`);
  if (ev.total !== undefined && ev.done > 0 && ev.done < ev.total) {
    parts.push(`eta ${formatDuration(elapsedSec * (ev.total - ev.done) / ev.done)}`);
  }
  parts.push(`[${formatDuration(elapsedSec)}]`);
  return parts.join(" ");
}

/**
 * A single live terminal line (rewritten with `\r` at most every `intervalMs`) on stderr.
 * When stderr is not a terminal it prints at most one line every `intervalMs` (default 10 s there).
 */
export function terminalProgress(label: string, opts: { intervalMs?: number } = {}): Progress {
  const tty = Deno.stderr.isTerminal();
  const interval = opts.intervalMs ?? (tty ? 200 : 10_000);
  const t0 = performance.now();
  let last = -Infinity;
  let lastLine = "";
  const enc = new TextEncoder();
  const write = (s: string) => Deno.stderr.writeSync(enc.encode(s));
  return {
    update(ev) {
      const now = performance.now();
      lastLine = formatProgressLine(label, ev, (now - t0) / 1000);
      const final = ev.total !== undefined && ev.done >= ev.total;
      if (now - last < interval && !final) return;
      last = now;
      write(tty ? `\r\x1b[2K${lastLine}` : `${lastLine}\n`);
    },
    finish(message) {
      const line = message ? `${label} ${message}` : lastLine;
      write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
    },
  };
}

/** Wraps a callback as a {@link Progress} (for notebooks: update a display in place). */
export function callbackProgress(
  label: string,
  cb: (line: string, ev: ProgressEvent) => void,
): Progress {
  const t0 = performance.now();
  return {
    update(ev) {
      cb(formatProgressLine(label, ev, (performance.now() - t0) / 1000), ev);
    },
    finish(message) {
      cb(`${label} ${message ?? "done"}`, { done: 1, total: 1 });
    },
  };
}
