import { SingleBar } from 'cli-progress';
import type { EpochRecord, FitOptions } from './fit';

/**
 * Progress callbacks for `fit` in a terminal: a bar with the running loss and ETA when
 * stderr is a TTY, otherwise one line per epoch (logs and CI stay readable).
 */
export function terminalProgress(label = 'train'): Pick<FitOptions, 'onBatch' | 'onEpochEnd'> & { stop(): void } {
  const tty = Boolean(process.stderr.isTTY);
  let bar: SingleBar | undefined;
  let currentEpoch = 0;
  return {
    onBatch({ epoch, batch, batches, loss }) {
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
      const val = r.valLoss === undefined ? '' : `, validation ${r.valLoss.toFixed(4)}`;
      process.stderr.write(`${label} epoch ${r.epoch}: loss ${r.trainLoss.toFixed(4)}${val} (${r.seconds.toFixed(1)} s)\n`);
    },
    stop() {
      bar?.stop();
    },
  };
}
