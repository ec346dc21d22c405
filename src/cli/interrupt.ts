/**
 * Ctrl-C (SIGINT) for the commands that train: the first one asks training to stop after
 * the batch in progress and write a resumable checkpoint; a second one quits at once (every
 * save is atomic, so even then no file is left half-written).
 */
export interface Interrupt {
  /** Aborted by the first Ctrl-C; pass it to `fit` / `runStudy`. */
  signal: AbortSignal;
  /** Removes the handler (the command is over). */
  dispose(): void;
}

/** Installs the SIGINT handler; `what` says what the first Ctrl-C will do. */
export function handleInterrupt(what: string): Interrupt {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      process.stderr.write('\naelab: interrupted again; quitting now\n');
      process.exit(130);
    }
    process.stderr.write(`\naelab: interrupt: ${what} (Ctrl-C again quits at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}
