/**
 * A guard for long cells in a tslab (Jupyter) kernel. tslab sends every output message
 * (console output, display updates) with zeromq's `socket.send` without waiting for the
 * previous send to finish; zeromq 6 allows one send in flight per socket and rejects the
 * next with EBUSY whenever the socket could not flush at once. The rejection is unhandled,
 * so the kernel aborts the running cell with an empty `<Error>` — after a few hundred quick
 * display updates (a progress bar, a loop of `console.log`). Sending one message after the
 * other, in order, removes the race; nothing else changes.
 */

const QUEUED = Symbol.for('aelab.kernelSendQueue');

interface SendingSocket {
  send(...args: unknown[]): Promise<void>;
}

/**
 * Makes the zeromq sockets of the running tslab kernel send their messages one at a time
 * (a per-socket promise chain around `Socket.prototype.send`). Does nothing outside a
 * tslab kernel, when the kernel's zeromq cannot be found, or when already done.
 * @returns true when the kernel's sockets are (now or already) queued
 */
export function queueKernelSends(): boolean {
  const g = globalThis as { __tslab__?: unknown };
  if (g.__tslab__ === undefined || typeof require !== 'function') return false;
  let done = false;
  // The kernel's own zeromq instance, wherever it was installed from.
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!mod || !/[\\/]zeromq[\\/]lib[\\/]index\.js$/.test(file)) continue;
    const Socket = (mod.exports as { Socket?: { prototype: SendingSocket & { [QUEUED]?: boolean } } }).Socket;
    if (!Socket?.prototype || typeof Socket.prototype.send !== 'function') continue;
    const proto = Socket.prototype;
    if (!proto[QUEUED]) {
      const send = proto.send;
      const tails = new WeakMap<object, Promise<unknown>>();
      // zeromq defines `send` read-only but configurable: redefine it rather than assign.
      Object.defineProperty(proto, 'send', {
        value: function (this: SendingSocket, ...args: unknown[]): Promise<void> {
          const next = (tails.get(this) ?? Promise.resolve()).then(() => send.apply(this, args));
          tails.set(this, next.catch(() => undefined));
          return next;
        },
        writable: false,
        enumerable: false,
        configurable: true,
      });
      Object.defineProperty(proto, QUEUED, { value: true });
    }
    done = true;
  }
  return done;
}
