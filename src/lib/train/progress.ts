/**
 * Progress displays for `fit`: a bar in a terminal, a display that updates in place in a
 * notebook (tslab kernel). `fit` is silent unless one is passed as its `progress` option
 * (or spread into its options, as `...terminalProgress()`).
 */
import { SingleBar } from 'cli-progress';
import type { BatchInfo, EpochRecord, FitCallbacks, History, TrainBeginInfo } from './fit';
import { inNotebook, tslabPublic } from '../notebook/tslab';

export { inNotebook };

/** Callbacks for `fit` plus `stop()`, which closes the display early (idempotent). */
export type ProgressDisplay = FitCallbacks & { stop(): void };

/**
 * Progress callbacks for `fit` in a terminal: a bar with the running loss and ETA when
 * stderr is a TTY, otherwise one line per epoch (logs and CI stay readable).
 */
export function terminalProgress(label = 'train'): ProgressDisplay {
  const tty = Boolean(process.stderr.isTTY);
  let bar: SingleBar | undefined;
  let currentEpoch = 0;
  return {
    onBatch({ epoch, batch, batches, loss }: BatchInfo) {
      if (!tty) return;
      if (epoch !== currentEpoch) {
        bar?.stop();
        currentEpoch = epoch;
        bar = new SingleBar({
          format: `${label} epoch ${epoch} [{bar}] {percentage}% | loss {loss} | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        });
        bar.start(batches, 0, { loss: '-' });
      }
      bar?.update(batch + 1, { loss: loss.toFixed(4) });
    },
    onEpochEnd(r: EpochRecord) {
      bar?.stop();
      bar = undefined;
      process.stderr.write(`${label} ${epochLine(r)}\n`);
    },
    onTrainEnd() {
      bar?.stop();
      bar = undefined;
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

/** The part of tslab's `Display` that the notebook progress uses. */
export interface NotebookDisplay {
  html(s: string): void;
  text(s: string): void;
}

/**
 * A tslab display that overwrites one output area in place (`tslab.newDisplay()`), when this
 * process is a tslab kernel executing a cell; `null` elsewhere.
 */
export function tslabDisplay(): NotebookDisplay | null {
  return tslabPublic()?.newDisplay() ?? null;
}

/** Options of `notebookProgress`. */
export interface NotebookProgressOptions {
  /** Where to draw; default `tslabDisplay()`. Pass `tslab.newDisplay()` from a cell to be explicit. */
  display?: NotebookDisplay | null;
  /** Least time between two redraws within an epoch, in ms (default 250). */
  minIntervalMs?: number;
  /** Finished epochs shown in the table under the bar (default 10, the latest ones). */
  rows?: number;
}

/**
 * Progress callbacks for `fit` in a notebook: one HTML output (a bar with epoch, batch,
 * running loss, elapsed time and ETA, and a table of the finished epochs) that tslab
 * updates in place (`update_display_data`) instead of printing line after line. Outside a
 * kernel, or if the display cannot be written to, it prints one compact line per epoch to
 * stdout instead.
 */
export function notebookProgress(label = 'train', options: NotebookProgressOptions = {}): ProgressDisplay {
  let display = options.display === undefined ? tslabDisplay() : options.display;
  const minInterval = options.minIntervalMs ?? 250;
  const maxRows = options.rows ?? 10;
  const records: EpochRecord[] = [];
  let epochs = 0;
  let started = 0;
  let epochStart = 0;
  let lastDraw = 0;
  let current: BatchInfo | undefined;
  let done = false;

  const draw = (final = false) => {
    if (!display) return;
    try {
      display.html(renderProgress(label, { epochs, current, records: records.slice(-maxRows), elapsed: (performance.now() - started) / 1000, epochStart, final }));
    } catch {
      display = null; // not connected to a running cell (e.g. a second copy of tslab): fall back to lines
    }
    lastDraw = performance.now();
  };

  return {
    onTrainBegin(info: TrainBeginInfo) {
      epochs = info.epochs;
      started = performance.now();
      epochStart = started;
      draw();
    },
    onBatch(info: BatchInfo) {
      if (info.epoch !== current?.epoch) epochStart = performance.now();
      current = info;
      if (performance.now() - lastDraw >= minInterval) draw();
    },
    onEpochEnd(r: EpochRecord) {
      records.push(r);
      epochStart = performance.now();
      if (display) draw();
      if (!display) console.log(`${label} ${epochLine(r)}`);
    },
    onTrainEnd(_history: History) {
      if (done) return;
      done = true;
      current = undefined;
      draw(true);
    },
    stop() {
      if (!done) {
        done = true;
        draw(true);
      }
    },
  };
}

/**
 * The notebook display inside a tslab kernel, the terminal display elsewhere.
 * `fit(model, data, { progress: autoProgress() })`.
 */
export function autoProgress(label = 'train'): ProgressDisplay {
  return inNotebook() ? notebookProgress(label) : terminalProgress(label);
}

/** One line for a finished epoch: `epoch 3: loss 104.2311, validation 106.0170, lr 0.001 (21.4 s)`. */
export function epochLine(r: EpochRecord): string {
  const val = r.valLoss === undefined ? '' : `, validation ${r.valLoss.toFixed(4)}`;
  return `epoch ${r.epoch}: loss ${r.trainLoss.toFixed(4)}${val}, lr ${formatNumber(r.lr)} (${r.seconds.toFixed(1)} s)`;
}

interface ProgressState {
  epochs: number;
  current?: BatchInfo;
  records: EpochRecord[];
  elapsed: number;
  epochStart: number;
  final: boolean;
}

/** The HTML of the notebook display (exported for tests). */
export function renderProgress(label: string, s: ProgressState): string {
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [];
  const c = s.current;
  if (c && !s.final) {
    const frac = (c.batch + 1) / c.batches;
    const spent = (performance.now() - s.epochStart) / 1000;
    const eta = frac > 0 ? spent * (1 / frac - 1) : NaN;
    parts.push(
      `<div>${esc(label)} epoch ${c.epoch}/${s.epochs} <progress value="${c.batch + 1}" max="${c.batches}" style="width:240px;vertical-align:middle"></progress> ` +
        `${Math.round(100 * frac)}% · batch ${c.batch + 1}/${c.batches} · loss ${c.loss.toFixed(4)} · ${spent.toFixed(1)} s · ETA ${Number.isFinite(eta) ? eta.toFixed(0) : '?'} s</div>`,
    );
  } else {
    const n = s.records.at(-1)?.epoch ?? 0;
    parts.push(`<div>${esc(label)}: ${s.final ? 'done' : 'starting'}, ${n}/${s.epochs} epochs, ${s.elapsed.toFixed(1)} s</div>`);
  }
  if (s.records.length > 0) {
    const hasVal = s.records.some((r) => r.valLoss !== undefined);
    const head = `<tr><th>epoch</th><th>train loss</th>${hasVal ? '<th>validation loss</th>' : ''}<th>lr</th><th>s</th></tr>`;
    const rows = s.records
      .map((r) => `<tr><td>${r.epoch}</td><td>${r.trainLoss.toFixed(4)}</td>${hasVal ? `<td>${r.valLoss?.toFixed(4) ?? ''}</td>` : ''}<td>${formatNumber(r.lr)}</td><td>${r.seconds.toFixed(1)}</td></tr>`)
      .join('');
    parts.push(`<table style="font-size:90%">${head}${rows}</table>`);
  }
  return `<div style="font-family:monospace">${parts.join('')}</div>`;
}

function formatNumber(v: number): string {
  return Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v);
}
